# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The private data folder of an AWX / ansible-runner job, which is deleted after the job.

In an AWX execution environment it is mounted at /runner; ansible-runner
(which AWX runs every job with) puts the job's artifacts in
PRIVATE_DATA_DIR/artifacts/<ident> and exports that folder as
AWX_ISOLATED_DATA_DIR (ansible_runner/config/_base.py).
"""

from __future__ import annotations

import os

EE_PRIVATE_DATA_DIR = "/runner"


def private_folders(environ):
    folders = [EE_PRIVATE_DATA_DIR]
    artifacts = environ.get("AWX_ISOLATED_DATA_DIR")
    if artifacts:
        parent = os.path.dirname(os.path.normpath(artifacts))
        folders.append(os.path.dirname(parent) if os.path.basename(parent) == "artifacts" else artifacts)
    return folders


def private_folder_of(path, environ):
    """The job's private data folder that holds ``path``, or None."""
    real = os.path.realpath(path)
    for folder in private_folders(environ):
        top = os.path.realpath(folder)
        if os.path.commonpath([real, top]) == top:
            return folder
    return None
