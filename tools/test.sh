#!/usr/bin/env bash
# Set up, then run every check CI runs, in order, stopping at the first
# failure, with the time each step took. Offline apart from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/tests/output

current="" tmp=""
on_exit() {
  local rc=$?
  [ -z "$tmp" ] || rm -rf "$tmp"
  [ "$rc" -eq 0 ] || echo "=== FAILED: $current (exit $rc)" >&2
}
trap on_exit EXIT

step() {  # step NAME COMMAND...: one check, timed; set -e stops at its failure
  current=$1; shift
  local t0=$SECONDS
  echo "=== $current"
  "$@"
  echo "=== $current: ok in $((SECONDS - t0)) s"
}

sanity() {
  local py pip_version modules
  py=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  # Each sanity test builds a venv and bootstraps pip with a pinned get-pip
  # script from a host we cannot reach: put our stand-in in its cache.
  pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" "$(python -c \
      'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py")
  [ -n "$pip_version" ] || { echo "cannot find ansible-test's pip version" >&2; return 1; }
  local cache=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
  [ -f "$cache" ] || { mkdir -p "$(dirname "$cache")" && cp tools/ansible_test_get_pip.py "$cache"; }

  # ansible-test wants os.getcwd() under ansible_collections/NS/NAME and
  # getcwd() resolves our symlink, so test a copy of what git sees, outside
  # any git repo. lab/ and benchmarks/ are Python tooling, not Ansible
  # content (not shipped; ruff and pytest cover them): left out.
  tmp=$(mktemp -d)
  local coll=$tmp/ansible_collections/crashdump/windows
  mkdir -p "$coll"
  git ls-files -z --cached --others --exclude-standard -- . ':!lab' ':!benchmarks' |
    tar --null --ignore-failed-read -T - -cf - | tar -C "$coll" -xf -
  cd "$coll"
  # Skipped: pslint needs pwsh (not installable here); validate-modules
  # crashes ("pwsh not found") once a .ps1 sits in plugins/modules, so it
  # runs below on the .py documentation files only, which still checks
  # their DOCUMENTATION/EXAMPLES/RETURN.
  ansible-test sanity --local --python "$py" --color no \
      --skip-test pslint --skip-test validate-modules
  modules=$(find plugins/modules -name '*.py' ! -name '__init__.py' 2>/dev/null || true)
  if [ -n "$modules" ]; then
    # shellcheck disable=SC2086  # one path per word, no spaces in module names
    ansible-test sanity --local --python "$py" --color no --test validate-modules $modules
  else
    echo "validate-modules: no plugins/modules/*.py yet"
  fi
  cd "$ROOT"
}

step "setup" source tools/setup.sh  # sourced: puts .venv/bin first on PATH
# ansible-doc and ansible-lint find the collection through the link only.
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.ansible/collections"
mkdir -p "$OUT"
rm -f "$OUT"/junit-*.xml

# Only folders that exist: ruff fails on a missing path, and a fresh clone
# has no empty folders.
py_dirs=()
for d in plugins lab tests tools benchmarks awx extensions; do [ ! -d "$d" ] || py_dirs+=("$d"); done
step "ruff" ruff check "${py_dirs[@]}"
# Debian packages some tests need: chromium (the triage HTML report is checked
# in it headless) and Java 17 (ansible-rulebook runs its rules engine on it).
# Installed once, quietly, waiting for other apt users; if that fails the tests
# needing them say so, and fail under CI.
debian_packages() {
  local missing=() as_root=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  [ "${#missing[@]}" -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  { "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 update &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=600 \
      install --no-install-recommends "${missing[@]}"; } </dev/null >"$OUT/apt-install.log" 2>&1 ||
    echo "${missing[*]} could not be installed (tests/output/apt-install.log)" >&2
}
step "debian packages" debian_packages
# The galaxy build test runs last, as step (e), after sanity and lint.
step "pytest" pytest -n auto --junitxml="$OUT/junit-pytest.xml" \
    --ignore=tests/ecosystem/test_galaxy_build.py
# requires_ansible admits 2.16: run the modules, roles, endpoints and protocol suite on it too, the roles and
# integration targets also over winrm and psrp (labctl serve keeps the checkout's .venv, which alone has the
# lab's psrpcore: the inventory check, the same on any core, imports the lab and stays in the first run).
oldest_core() {
  local venv=$ROOT/.venv-oldest-core want
  want=$(sha256sum requirements-oldest-core.txt | cut -d' ' -f1)
  if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-oldest-core.txt
    echo "$want" > "$venv/.requirements.sha256"
  fi
  "$venv/bin/python" -m pytest -n auto --junitxml="$OUT/junit-oldest-core.xml" tests/lab/test_local_dumps_module.py \
      tests/lab/test_gflags_module.py tests/lab/test_roles.py tests/lab/test_fetch_dumps_module.py \
      tests/lab/test_fetch_dumps_playbook.py tests/lab/test_integration_targets.py tests/lab/test_roles_on_the_wire.py tests/lab/test_legacy_transfer.py \
      tests/lab/test_winrm_endpoint.py tests/lab/test_psrp_endpoint.py tests/protocol \
      --deselect tests/lab/test_winrm_endpoint.py::test_the_winrm_inventory_matches_the_addresses_serve_gives
}
step "pytest on ansible-core 2.16" oldest_core
# The roles' lab tests (round trips, summaries, check and diff mode, undo) over the wire too: served hosts
# reached with ansible.builtin.winrm and ansible.builtin.psrp, on the newest and the oldest ansible-core.
roles_on_the_wire() {
  local connection venv
  for connection in winrm psrp; do
    for venv in .venv .venv-oldest-core; do
      CRASHDUMP_LAB_CONNECTION=$connection "$ROOT/$venv/bin/python" -m pytest -n auto \
          --junitxml="$OUT/junit-roles-$connection$venv.xml" tests/lab/test_roles.py
    done
  done
}
step "roles over winrm and psrp, on 2.19 and 2.16" roles_on_the_wire
step "ansible-test sanity" sanity
step "ansible-lint" ansible-lint
step "galaxy build" pytest --junitxml="$OUT/junit-build.xml" tests/ecosystem/test_galaxy_build.py

# One closing line for the whole run (both pytest runs added up).
python - "$OUT"/junit-*.xml <<'EOF'
import sys
import xml.etree.ElementTree as ET

t = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in sys.argv[1:]:
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for key in t:
            t[key] += int(suite.get(key, 0))
failed = t["failures"] + t["errors"]
print(f"pytest: {t['tests'] - failed - t['skipped']} passed, {failed} failed, {t['skipped']} skipped")
EOF
