#!/usr/bin/env bash
# Set up, put the simulated Windows host back to its seed state, and run the
# enable playbook on it, as the README shows. Extra arguments go to
# ansible-playbook (e.g. --check --diff, -v).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/setup.sh
. tools/setup.sh  # also puts .venv/bin first on PATH (labctl, ansible-playbook)
# Inventory, the lab connection and the collection path come from ./ansible.cfg.
# Every lab host of the inventory starts clean, so each demo shows the first run.
for host in $(ansible windows --list-hosts | tail -n +2); do lab/labctl reset "$host" >/dev/null; done
ansible-playbook playbooks/enable_crash_dumps.yml -e exe=netsh.exe "$@"
echo
echo "What the playbook changed on the lab host: lab/labctl show lab-win2022 --section registry"
