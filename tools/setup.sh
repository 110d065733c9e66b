#!/usr/bin/env bash
# Prepare a checkout for development: .venv with the pinned tools, and the
# collection made visible as crashdump.windows. Idempotent; a no-op (about a
# second) when already done. Source it (. tools/setup.sh) or run it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
# ansible-doc, ansible-test and ansible-lint only find a collection at
# <dir>/ansible_collections/<namespace>/<name>; a symlink to the checkout does.
LINK="$ROOT/.ansible/collections/ansible_collections/crashdump/windows"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 not found; install Python 3.11 (Debian: apt-get install python3 python3-venv)"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  # A half-made venv (no pip) would pass the check above next time: remove it.
  python3 -m venv "$VENV" || { rm -rf "$VENV"; die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
fi

# Reinstall only when a requirements file changed; the stamp is written last,
# so an interrupted install is retried next time.
want=$(cd "$ROOT" && cat requirements-dev.txt requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  say "installing requirements-dev.txt into .venv (a few minutes the first time)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$ROOT/requirements-dev.txt" || die "pip install -r requirements-dev.txt failed"
  echo "$want" > "$STAMP"
else
  say "requirements unchanged, .venv up to date"
fi

# Relative target, so the link survives moving or cloning the checkout.
if [ "$(readlink "$LINK" 2>/dev/null)" != "../../../.." ]; then
  mkdir -p "$(dirname "$LINK")"
  ln -sfn ../../../.. "$LINK"
  say "linked $LINK -> repository root"
else
  say "collection link present"
fi
[ -f "$LINK/galaxy.yml" ] || die "$LINK does not lead to the collection"

# When sourced: the venv's tools first on PATH. The collection path is left
# to ./ansible.cfg (collections_path), which a bare ansible-playbook reads too.
export PATH="$VENV/bin:$PATH"
