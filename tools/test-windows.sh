#!/usr/bin/env bash
# Run the protocol suite (tests/protocol) and the integration targets
# (tests/integration/targets) against real Windows hosts, once per host and
# connection, and print one summary line per host and connection.
set -uo pipefail

usage() {
  cat <<'EOF'
usage: tools/test-windows.sh [options] HOST...

Runs the agent protocol suite (tests/protocol) and every integration target
(tests/integration/targets) against each HOST of an Ansible inventory, once
per connection, and prints one line per host and connection:

  HOST CONNECTION: PASS|FAIL protocol=pass|fail|skipped integration=PASSED/TOTAL [failed: T,...] log: DIR

The connection is forced with -e ansible_connection=CONNECTION (and
ansible_shell_type=powershell), so one inventory entry serves all three;
give ports with ansible_winrm_port, ansible_psrp_port and ansible_ssh_port
rather than ansible_port. The tests work under
HKLM\SOFTWARE\crashdump.windows-test and C:\Windows\Temp and undo what they
change.

options:
  -i, --inventory FILE   the inventory (default: $CRASHDUMP_WINDOWS_INVENTORY)
  -t, --transports LIST  comma-separated connections (default: winrm,psrp,ssh;
                         crashdump_lab runs on lab hosts)
  -s, --suites LIST      comma-separated: protocol,integration (default: both)
  -o, --log-dir DIR      where each run's output goes
                         (default: tests/output/test-windows/<date>)
  -h, --help             this text

exit status: 0 every run passed, 1 a run failed, 2 bad arguments
EOF
}

usage_error() { printf 'test-windows: error: %s\n' "$*" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KNOWN_TRANSPORTS="winrm psrp ssh crashdump_lab"
KNOWN_SUITES="protocol integration"
inventory=${CRASHDUMP_WINDOWS_INVENTORY:-}
transports="winrm,psrp,ssh"
suites="protocol,integration"
log_dir=""
hosts=()

need_value() { [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -i|--inventory) need_value "$@"; inventory=$2; shift 2 ;;
    -t|--transports) need_value "$@"; transports=$2; shift 2 ;;
    -s|--suites) need_value "$@"; suites=$2; shift 2 ;;
    -o|--log-dir) need_value "$@"; log_dir=$2; shift 2 ;;
    --) shift; hosts+=("$@"); break ;;
    -*) usage_error "unknown option $1 (see --help)" ;;
    *) hosts+=("$1"); shift ;;
  esac
done

[ ${#hosts[@]} -gt 0 ] || usage_error "name at least one HOST (see --help)"
[ -n "$inventory" ] || usage_error "no inventory: give -i FILE or set CRASHDUMP_WINDOWS_INVENTORY"
[ -f "$inventory" ] || usage_error "inventory $inventory does not exist"
inventory=$(cd "$(dirname "$inventory")" && pwd)/$(basename "$inventory")
check_list() {  # name, value, allowed words
  local item
  for item in ${2//,/ }; do
    [[ " $3 " == *" $item "* ]] || usage_error "unknown $1 '$item' (choose from: ${3// /, })"
  done
  [ -n "${2//,/}" ] || usage_error "empty $1 list"
}
check_list transport "$transports" "$KNOWN_TRANSPORTS"
check_list suite "$suites" "$KNOWN_SUITES"

# shellcheck source=tools/setup.sh
. "$ROOT/tools/setup.sh" >/dev/null || usage_error "tools/setup.sh failed"
set +e  # setup.sh sets -e; a failing run must not end the others
cd "$ROOT" || exit 2
export ANSIBLE_CONFIG="$ROOT/ansible.cfg" ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=minimal

# Every host must be in the inventory before anything runs.
known=$(ansible -i "$inventory" all --list-hosts 2>/dev/null | tail -n +2 | sed 's/^ *//') ||
  usage_error "cannot read inventory $inventory"
for host in "${hosts[@]}"; do
  grep -qxF -- "$host" <<<"$known" || usage_error "host $host is not in $inventory"
done

log_dir=${log_dir:-$ROOT/tests/output/test-windows/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$log_dir" || usage_error "cannot create $log_dir"
targets=$(cd tests/integration/targets && ls)

failed_runs=0
for host in "${hosts[@]}"; do
  for transport in ${transports//,/ }; do
    logs="$log_dir/$host-$transport"
    mkdir -p "$logs"
    extra="{\"ansible_connection\": \"$transport\", \"ansible_shell_type\": \"powershell\"}"
    protocol=skipped
    if [[ ",$suites," == *,protocol,* ]]; then
      if CRASHDUMP_WINDOWS_HOST=$host CRASHDUMP_WINDOWS_INVENTORY=$inventory CRASHDUMP_WINDOWS_EXTRA_VARS=$extra \
          python -m pytest -n 0 -q -p no:cacheprovider tests/protocol >"$logs/protocol.log" 2>&1; then
        protocol=pass
      else
        protocol=fail
      fi
    fi
    passed=0 total=0 failed=()
    if [[ ",$suites," == *,integration,* ]]; then
      for target in $targets; do
        total=$((total + 1))
        book="$logs/$target.yml"
        printf -- '- hosts: %s\n  gather_facts: false\n  roles:\n    - %s\n' "$host" "$target" >"$book"
        if ANSIBLE_ROLES_PATH="$ROOT/tests/integration/targets" \
            ansible-playbook -i "$inventory" -e "$extra" "$book" >"$logs/$target.log" 2>&1; then
          passed=$((passed + 1))
        else
          failed+=("$target")
        fi
      done
    fi
    verdict=PASS
    if [ "$protocol" = fail ] || [ ${#failed[@]} -gt 0 ]; then verdict=FAIL; failed_runs=$((failed_runs + 1)); fi
    line="$host $transport: $verdict protocol=$protocol"
    [[ ",$suites," == *,integration,* ]] && line+=" integration=$passed/$total"
    [ ${#failed[@]} -gt 0 ] && line+=" failed: $(IFS=,; echo "${failed[*]}")"
    echo "$line log: $logs"
  done
done
[ "$failed_runs" -eq 0 ]
