# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared attributes of the collection's modules."""

from __future__ import annotations


class ModuleDocFragment:

    # Modules that change a Windows host through the agent.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    support: full
    platforms: windows
    description: Target OS/families that can be operated against.
  action:
    support: full
    description: Runs as an action plugin on the controller; only the collection's PowerShell agent runs on the host.
notes:
  - The module runs as an action plugin. It sends one batch of reads to the host and, only when something must
    change, one batch of changes, over the task's connection (C(winrm), C(psrp) or C(ssh) with the PowerShell shell).
  - Arguments reach the host as JSON data, never as PowerShell text.
  - C(become) is refused with an error, since the agent runs as the account the connection logs on with.
"""

    # Read-only (info) modules.
    INFO = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Can run in check_mode; the module only reads.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
  platform:
    support: full
    platforms: windows
    description: Target OS/families that can be operated against.
  action:
    support: full
    description: Runs as an action plugin on the controller; only the collection's PowerShell agent runs on the host.
notes:
  - C(become) is refused with an error, since the agent runs as the account the connection logs on with.
"""
