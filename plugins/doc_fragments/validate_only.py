# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validate_only option every agent module has (plugin_utils/_base.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  validate_only:
    description:
      - Check the arguments, as a run would before reading the host, and return without contacting the host.
      - The P(crashdump.windows.enable#role) role does so for every image and option of the run, on every host,
        before its first change.
    type: bool
    default: false
"""
