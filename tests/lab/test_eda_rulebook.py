"""The rulebook crashdump.windows.crash_remediation run by ansible-rulebook (Java 17) against lab hosts: an Event 1000
as Winlogbeat sends it, POSTed to the webhook, runs the enable playbook for that image on that host, once."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LD = "HKLM\\SOFTWARE\\Microsoft\\Windows\\Windows Error Reporting\\LocalDumps"
IFEO = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Image File Execution Options"
PAGE_HEAP = 0x02000000  # FLG_HEAP_PAGE_ALLOCS
ENABLE_PLAY = "PLAY [Turn on crash dump collection]"


@pytest.fixture(scope="module", autouse=True)
def java():
    if shutil.which("java") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("java is missing: tools/test.sh installs Debian's openjdk-17-jre-headless")
        pytest.skip("java is not installed (tools/test.sh installs Debian's openjdk-17-jre-headless)")


def winlogbeat(lab, host, image):
    """The newest Event 1000 of ``image`` in the host's Application log, as Winlogbeat ships it (ECS JSON,
    unnamed data as param1.., empty values left out)."""
    event = [e for e in json.loads(lab.labctl("show", host, "--section", "events"))
             if e["id"] == 1000 and e["properties"][0] == image][-1]
    return {
        "@timestamp": event["time"],
        "host": {"name": host},
        "event": {"code": "1000", "provider": event["provider"]},
        "winlog": {"channel": event["log"], "provider_name": event["provider"], "event_id": "1000",
                   "record_id": event["record_id"], "computer_name": event["machine"],
                   "event_data": {"param%d" % (i + 1): v for i, v in enumerate(event["properties"]) if v}},
    }


class Rulebook:
    """ansible-rulebook running the collection's rulebook; its output in a file, stopped by pid."""

    def __init__(self, lab, tmp_path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        variables = tmp_path / "vars.yml"
        variables.write_text(yaml.safe_dump({"crashdump_eda_port": self.port}))
        self.log = tmp_path / "ansible-rulebook.log"
        cmd = [str(Path(sys.executable).parent / "ansible-rulebook"), "-r", "crashdump.windows.crash_remediation",
               "-i", str(lab.inventory()), "--vars", str(variables)]
        with self.log.open("w") as out:
            # Its own session: the playbook runs it starts go with it.
            self.proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=dict(lab.env, ANSIBLE_STDOUT_CALLBACK="default"),
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def output(self):
        return self.log.read_text()

    def post(self, body):
        """The webhook's reply, once it listens."""
        deadline = time.monotonic() + 60
        request = urllib.request.Request("http://127.0.0.1:%d/" % self.port, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        while True:
            assert self.proc.poll() is None, "ansible-rulebook ended:\n" + self.output()
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    return reply.status, json.load(reply)
            except urllib.error.URLError as e:
                if not isinstance(e.reason, ConnectionError):
                    raise
                assert time.monotonic() < deadline, "the webhook did not listen:\n" + self.output()
                time.sleep(0.1)

    def wait_for(self, pattern, count):
        """Until ``pattern`` occurs ``count`` times in the output."""
        deadline = time.monotonic() + 90
        while len(re.findall(pattern, self.output())) < count:
            assert self.proc.poll() is None, "ansible-rulebook ended:\n" + self.output()
            assert time.monotonic() < deadline, "no %d x %r:\n%s" % (count, pattern, self.output())
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def test_a_crash_enables_dumps_for_its_image_on_its_host_once(lab, tmp_path):
    host = lab.host("lab-win2022")
    lab.host("lab-win11")
    lab.labctl("crash", host, "netsh.exe", "--pid", 4242)
    crash = winlogbeat(lab, host, "netsh.exe")
    rulebook = Rulebook(lab, tmp_path)
    try:
        assert rulebook.post(crash) == (202, {"emitted": 1, "duplicates": 0, "refused": []})
        rulebook.wait_for(r"PLAY RECAP", 1)
        registry = lab.registry(host)
        assert registry[LD + "\\netsh.exe"]["values"]["DumpType"]["data"] == 2
        assert int(registry[IFEO + "\\netsh.exe"]["values"]["GlobalFlag"]["data"], 16) & PAGE_HEAP  # REG_SZ hex
        assert not any(key.startswith((LD, IFEO + "\\netsh.exe")) for key in lab.registry("lab-win11"))

        # The same event three more times: the webhook knows it.
        for _repeat in range(3):
            assert rulebook.post(crash) == (202, {"emitted": 0, "duplicates": 1, "refused": []})
        # Three new crashes of the image: the rule sees each, the throttle runs nothing.
        for pid in (4243, 4244, 4245):
            lab.labctl("crash", host, "netsh.exe", "--pid", pid)
            assert rulebook.post(winlogbeat(lab, host, "netsh.exe"))[1]["emitted"] == 1
        # A crash of another image runs after them (actions run in order): once it is done, so are they.
        lab.labctl("crash", host, "notepad.exe", "--pid", 4300)
        assert rulebook.post(winlogbeat(lab, host, "notepad.exe"))[1]["emitted"] == 1
        rulebook.wait_for(r"PLAY RECAP", 2)
        rulebook.wait_for(r"crash of notepad\.exe on lab-win2022", 1)
        out = rulebook.output()
        assert len(re.findall(r"crash of netsh\.exe on lab-win2022 \(event 1000", out)) == 4
        assert out.count(ENABLE_PLAY) == 2
        assert len(re.findall(r'"netsh\.exe: LocalDumps changed', out)) == 1
        assert len(re.findall(r'"notepad\.exe: LocalDumps changed', out)) == 1
        assert LD + "\\notepad.exe" in lab.registry(host)
    finally:
        rulebook.stop()
