# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection plugin for lab hosts: a thin shim over lab/crashdump_lab/transport.py."""

from __future__ import annotations

import os
import sys

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

DOCUMENTATION = r"""
name: crashdump_lab
short_description: Talk to a simulated Windows host of the crashdump.windows lab
description:
  - Runs crashdump.windows agent batches against a lab host whose whole state is
    one JSON file, C(<state_dir>/<host>.json); a missing file is a clean default host.
  - Accepts only the collection's bootstrap command with the agent script on standard
    input; never runs PowerShell. Files move like the winrm connection (stdin in
    200,000-byte pieces, fetch in 512 KiB chunks, one round trip each) and every
    exchange is counted in the host's C(counters).
  - Not part of the collection; a test and demo tool.
author: crashdump.windows contributors
options:
  remote_addr:
    description:
      - The lab host's name.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  state_dir:
    description:
      - Folder holding the lab hosts' state files.
      - Defaults to C(lab/state) beside this plugin's folder.
    type: path
    env:
      - name: CRASHDUMP_LAB_STATE_DIR
    vars:
      - name: crashdump_lab_state_dir
"""

_LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _LAB_DIR not in sys.path:
    sys.path.insert(0, _LAB_DIR)

from crashdump_lab import state as lab_state  # noqa: E402
from crashdump_lab import transport as lab_transport  # noqa: E402

display = Display()


class Connection(ConnectionBase):
    """Simulated Windows host (crashdump.windows lab)."""

    transport = "crashdump_lab"
    has_pipelining = True
    allow_executable = False
    module_implementation_preferences = (".ps1", ".exe", "")

    def __init__(self, *args, **kwargs):
        self._shell_type = "powershell"
        super().__init__(*args, **kwargs)
        self._lab = None

    def _connect(self):
        if not self._connected:
            state_dir = self.get_option("state_dir") or lab_state.default_state_dir()
            self._lab = lab_transport.Transport(state_dir, self.get_option("remote_addr"))
            self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        display.vvv("LAB EXEC on %s" % self._lab.host, host=self._lab.host)
        try:
            return self._lab.exec_command(cmd, in_data)
        except lab_transport.ConnectionDropped as e:
            raise AnsibleConnectionFailure(str(e)) from e

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        if not os.path.exists(in_path):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        with open(in_path, "rb") as f:
            data = f.read()
        try:
            self._lab.put_file(data, self._shell._unquote(out_path))
        except lab_transport.TransferError as e:
            raise AnsibleError(str(e)) from e

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        try:
            with open(out_path, "wb") as out:
                wrote = self._lab.fetch_file(self._shell._unquote(in_path), out)
        except lab_transport.ConnectionDropped as e:
            raise AnsibleConnectionFailure(str(e)) from e
        except lab_transport.TransferError as e:
            os.unlink(out_path)
            raise AnsibleError("failed to transfer file to %s: %s" % (out_path, e)) from e
        if not wrote:
            # A folder: like winrm, leave nothing behind.
            os.unlink(out_path)

    def close(self):
        self._connected = False
