#!/usr/bin/env bash
# Set up, put the simulated Windows hosts back to their seed state, serve them
# as WinRM endpoints and run the enable playbook on them over
# ansible.builtin.winrm, as the README shows. Extra arguments go to
# ansible-playbook (e.g. --check --diff, -v; -e ansible_connection=psrp).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/setup.sh
. tools/setup.sh  # also puts .venv/bin first on PATH (labctl, ansible-playbook)
# ./ansible.cfg names the inventory (lab/inventory.yml: the hosts where
# lab/labctl serve places them, 127.0.0.1, .2, .3 on port 5985) and the
# collection path.
hosts=$(ansible windows --list-hosts | tail -n +2)
# Every lab host starts clean, so each demo shows the first run.
for host in $hosts; do lab/labctl reset "$host" >/dev/null; done
ready=$(mktemp)
lab/labctl serve >"$ready" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$ready"' EXIT
# Ready once it has printed a line per host.
for _ in $(seq 300); do
  [ "$(wc -l <"$ready")" -lt "$(echo "$hosts" | wc -w)" ] || break
  kill -0 "$server" 2>/dev/null || { echo "demo: lab/labctl serve did not start (ports 5985/5986 taken, by another lab/labctl serve?)" >&2; exit 1; }
  sleep 0.1
done
ansible-playbook playbooks/enable_crash_dumps.yml -e exe=netsh.exe "$@"
echo
echo "What the playbook changed on the lab host: lab/labctl show lab-win2022 --section registry"
