"""Every shell command of README.md works as shown, pasted into a new shell.

The README's ``sh`` code blocks are read line by line and each command runs in
its own ``env -i`` bash (PATH without the venv, a private HOME and lab state
folder), in a copy of this checkout, in README order: ``tools/demo.sh`` first,
as a new user starts. A block right after the line ``README_SKIP`` below
needs a real Windows host and is left out; ``tools/test.sh`` is the suite
that runs this test, so it is left out too. A command the README runs "in a
terminal of its own" (a server in the foreground) is started beside the
others once it says it is ready, and stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tarfile
from pathlib import Path

from crashdump_lab.wsman.serve import inventory_hosts  # lab/ is on sys.path (tests/conftest.py)

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
README_SKIP = "<!-- README test: needs a real Windows host -->"
THE_SUITE = "tools/test.sh"
OWN_TERMINAL = "# in a terminal of its own"


def shell_blocks(text: str) -> list[tuple[bool, list[str]]]:
    """(needs a real host, commands) of each sh code block, in order."""
    blocks = []
    for match in re.finditer(r"^(?P<before>[^\n]*)\n```(?:sh|bash|console)\n(?P<body>.*?)^```$", text, re.M | re.S):
        commands, pending = [], ""
        for line in match.group("body").splitlines():
            line = pending + line
            if line.endswith("\\"):
                pending = line[:-1]
                continue
            pending = ""
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
        blocks.append((match.group("before").strip() == README_SKIP, commands))
    return blocks


def checkout_copy(dest: Path) -> Path:
    """What git sees of this checkout (committed or not), with the shared .venv linked in."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.split(b"\0")
    archive = dest.with_suffix(".tar")
    with tarfile.open(archive, "w") as tar:
        for name in filter(None, files):
            path = REPO / name.decode()
            if path.exists():
                tar.add(path, arcname=name.decode(), recursive=False)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="tar")
    (dest / ".venv").symlink_to(os.path.realpath(REPO / ".venv"))
    return dest


def _env(home: Path, state: Path) -> list[str]:
    return ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", f"HOME={home}", f"CRASHDUMP_LAB_STATE_DIR={state}",
            "LANG=C.UTF-8"]


def fresh_shell(command: str, cwd: Path, home: Path, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*_env(home, state), "bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


def own_terminal(command: str, cwd: Path, home: Path, state: Path) -> subprocess.Popen:
    """A foreground server, started in a session of its own, once it has printed its ready line per host."""
    proc = subprocess.Popen([*_env(home, state), "bash", "-c", "exec " + command], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    hosts = len(inventory_hosts(str(cwd / "lab" / "inventory.yml")))
    ready = [json.loads(proc.stdout.readline() or "null") for _host in range(hosts)]
    assert all(isinstance(r, dict) and "host" in r for r in ready), f"{command} did not get ready: {ready}"
    return proc


def test_block_reader():
    text = "intro\n```sh\n# note\na --x \\\n  --y\nb  # why\n```\n" + README_SKIP + "\n```sh\nc\n```\n```yaml\nd\n```\n"
    assert shell_blocks(text) == [(False, ["a --x   --y", "b  # why"]), (True, ["c"])]


def test_readme_opens_with_demo_and_test():
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    assert [commands for _real, commands in blocks[:2]] == [["tools/demo.sh"], [THE_SUITE]]


def test_every_readme_command_works_in_a_new_shell(tmp_path):
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    commands = [c for real_host, cmds in blocks if not real_host for c in cmds if c != THE_SUITE]
    assert commands[0] == "tools/demo.sh" and len(commands) > 5, commands
    checkout = checkout_copy(tmp_path / "checkout")
    home, state = tmp_path / "home", tmp_path / "state"
    home.mkdir()
    servers = []
    try:
        for command in commands:
            if command.endswith(OWN_TERMINAL) or OWN_TERMINAL + ":" in command:
                servers.append(own_terminal(command.split("#")[0].strip(), checkout, home, state))
                continue
            proc = fresh_shell(command, checkout, home, state)
            assert proc.returncode == 0, f"README command failed (rc={proc.returncode}): {command}\n" + (
                proc.stdout[-3000:] + proc.stderr[-3000:])
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    assert servers, "the README shows no server in a terminal of its own any more: drop OWN_TERMINAL"
