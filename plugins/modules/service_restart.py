# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/service_restart.py.

DOCUMENTATION = r"""
module: service_restart
short_description: Restart a Windows service so that new image flags take effect
version_added: 0.1.0
description:
  - Restarts a service (stopping the services that depend on it, as C(Restart-Service -Force) does), or starts it
    when it is stopped. It waits up to two minutes for the service to stop and up to two more for it to run
    again, and fails when either takes longer (the service is then left as it is).
  - GFlags and page heap settings are read when a process starts; a service hosting the image must restart for
    M(crashdump.windows.gflags) changes to take effect. The P(crashdump.windows.enable#role) role uses this module
    for its C(restart_service) option.
  - Always reports a change; in check mode it only checks that the service exists.
options:
  name:
    description: The service name (not its display name), for example V(Spooler).
    type: str
    required: true
extends_documentation_fragment:
  - crashdump.windows.validate_only
  - crashdump.windows.attributes
attributes:
  diff_mode:
    support: none
seealso:
  - module: crashdump.windows.gflags
author:
  - crashdump.windows contributors (@crashdump)
"""

EXAMPLES = r"""
- name: Restart the service hosting the image, so page heap applies
  crashdump.windows.service_restart:
    name: MyAppService
"""

RETURN = r"""
before:
  description: The service before the restart (exists, name, display_name, status, start_mode, account, pid).
  returned: always
  type: dict
  sample: {"exists": true, "name": "Spooler", "status": "Running", "start_mode": "Auto", "pid": 2044}
after:
  description: The service after the restart, with C(previous_status); equal to RV(before) in check mode.
  returned: always
  type: dict
  sample: {"exists": true, "name": "Spooler", "status": "Running", "pid": 5120, "previous_status": "Running"}
"""
