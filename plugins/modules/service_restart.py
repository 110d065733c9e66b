# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the module is the action plugin plugins/action/service_restart.py.

DOCUMENTATION = r"""
module: service_restart
short_description: Restart a Windows service so that new image flags take effect
version_added: 0.1.0
description:
  - Restarts a service, or starts it when it is stopped. Stopping it stops the services that depend on it
    (directly or not); those that were running are started again afterwards, in start order, as
    C(Restart-Service) does.
  - It waits up to two minutes for the service to stop, and up to two more for it and its dependents to run
    again, and fails when either takes longer (the services are then left as they are).
  - A service whose start mode is Disabled, or one of whose running dependents is, could not start again, so the
    task fails before anything is stopped.
  - GFlags and page heap settings are read when a process starts; a service hosting the image must restart for
    M(crashdump.windows.gflags) changes to take effect. The P(crashdump.windows.enable#role) role uses this module
    for its C(restart_service) option.
  - A service sharing its process with other running services (a C(svchost.exe) group) keeps that process, and
    its pid, when it restarts, so new image flags do not apply; the module then returns RV(restart_effective)
    V(false) with a warning instead of plain success. Since Windows 10 1703 most svchost services run alone in
    their process on hosts with more than 3.5 GB of memory.
  - Always reports a change. In check mode it reads the service only and predicts RV(restarted_dependents) and
    RV(restart_effective) from what it read; a stopped service that would join a running svchost of its group is
    only seen as such by the real run.
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
  description:
    - The service before the restart (exists, name, display_name, status, start_mode, account, pid).
    - C(dependents), the services that depend on it directly or not, in the order Windows stops them (each with
      name, status, start_mode); C(shared_with), the other running services in its process.
  returned: always
  type: dict
  sample: {"exists": true, "name": "Spooler", "status": "Running", "start_mode": "Auto", "pid": 2044,
           "dependents": [{"name": "Fax", "status": "Running", "start_mode": "Manual"}], "shared_with": []}
after:
  description: The service after the restart, with C(previous_status); equal to RV(before) in check mode.
  returned: always
  type: dict
  sample: {"exists": true, "name": "Spooler", "status": "Running", "pid": 5120, "previous_status": "Running"}
restarted_dependents:
  description: The dependents that were running, stopped with the service and started again, in start order.
  returned: always
  type: list
  elements: str
  sample: ["Fax"]
pid_before:
  description: The process id of the service before the restart (V(0) when it was stopped).
  returned: always
  type: int
  sample: 2044
pid_after:
  description: The process id of the service after the restart; V(null) in check mode.
  returned: always
  type: int
  sample: 5120
restart_effective:
  description:
    - Whether the service now runs in a new process, one no service ran in before, so that new image flags apply.
    - V(false) when it kept a process shared with other running services (a warning says so).
  returned: always
  type: bool
  sample: true
"""
