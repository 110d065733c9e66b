"""The crashdump.windows.wer_events source as ansible-rulebook runs it (loaded by path, main() on an asyncio loop
with a real queue), fed by real HTTP requests on loopback."""

import asyncio
import json
import runpy
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from forwarded_samples import REPORT, ecs_1000_named, ecs_1000_positional, ecs_1001_positional, wef_1000, with_image

PLUGIN = Path(__file__).resolve().parents[6] / "extensions" / "eda" / "plugins" / "event_source" / "wer_events.py"
MAIN = runpy.run_path(str(PLUGIN))["main"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Source:
    """main(queue, args) running on its own event loop in a thread, until stop()."""

    def __init__(self, **args):
        self.port = args.setdefault("port", free_port())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.queue = self._call(self._new_queue())
        self.task = asyncio.run_coroutine_threadsafe(MAIN(self.queue, args), self.loop)
        deadline = time.monotonic() + 10
        while True:
            assert not self.task.done(), self.task.exception()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the source did not listen"
                time.sleep(0.02)

    @staticmethod
    async def _new_queue():
        return asyncio.Queue()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def post(self, body, content_type="application/json", token=None):
        """(status, JSON reply) of a POST of ``body`` (bytes, text, or JSON data)."""
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        request = urllib.request.Request("http://127.0.0.1:%d/" % self.port, method="POST", headers=headers,
                                         data=body.encode() if isinstance(body, str) else body)
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return reply.status, json.load(reply)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, json.loads(text) if e.headers.get_content_type() == "application/json" else text

    def events(self):
        """What the source has put on the queue since the last call."""
        async def drain():
            return [self.queue.get_nowait() for _item in range(self.queue.qsize())]
        return self._call(drain())

    def stop(self):
        self.task.cancel()
        deadline = time.monotonic() + 10
        while not self.task.done() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # the runner's cleanup after the cancellation
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def source():
    running = Source()
    yield running
    running.stop()


def accepted(emitted=0, duplicates=0, refused=()):
    return 202, {"emitted": emitted, "duplicates": duplicates, "refused": list(refused)}


@pytest.mark.parametrize("body, content_type", [
    (ecs_1000_positional(), "application/json"),
    (ecs_1000_named(), "application/json; charset=utf-8"),
    ([ecs_1000_positional(), ecs_1001_positional()], "application/json"),
    (wef_1000(), "application/xml"),
    (wef_1000(named=True), "text/xml"),
], ids=["ecs-param_n", "ecs-named", "ecs-batch", "xml", "xml-named"])
def test_one_crash_one_event(source, body, content_type):
    assert source.post(body, content_type) == accepted(emitted=1)
    (event,) = source.events()
    crash = event["crash"]
    assert event["meta"] == {"hosts": "web01"}
    assert (crash["host"], crash["image"], crash["exception_code"], crash["report_id"]) == (
        "web01", "netsh.exe", "0xc0000374", REPORT)


def test_duplicates_emit_nothing(source):
    assert source.post(ecs_1000_positional()) == accepted(emitted=1)
    for _repeat in range(3):
        assert source.post(ecs_1000_positional()) == accepted(duplicates=1)
    # Its WER report, sent later, is the same crash; so is the event from another forwarder (XML).
    assert source.post(ecs_1001_positional()) == accepted(duplicates=1)
    assert source.post(wef_1000(), "application/xml") == accepted(duplicates=1)
    assert len(source.events()) == 1
    # Another crash of the same image, and the same report on another host, are new.
    assert source.post(with_image(ecs_1000_positional(), "netsh.exe", "7d1e2f30-0000-4000-8000-000000000001")) == \
        accepted(emitted=1)
    assert source.post(ecs_1000_positional(host="web02")) == accepted(emitted=1)
    assert [(e["crash"]["host"], e["crash"]["record_id"]) for e in source.events()] == [("web01", 52233),
                                                                                        ("web02", 52133)]


@pytest.mark.parametrize("body, error", [
    ("{", "the body is neither JSON nor event XML: "),
    ({"winlog": {"event_id": "ten"}}, "event 0: winlog.event_id is 'ten', not a number"),
    ([ecs_1000_positional(), {"host": {"name": "web01"}}],
     "event 1: no winlog object: not an event as Winlogbeat sends it"),
    ("<Event><System><EventID>1000</EventID></System></Event>", "event 0: no <Computer>: the host is unknown"),
])
def test_bad_bodies_400_naming_the_field(source, body, error):
    status, reply = source.post(body)
    assert status == 400 and reply["error"].startswith(error), reply
    assert source.events() == []  # nothing of the body, also not its good events


def test_sensitive_images_refused(source):
    lsass = with_image(ecs_1000_positional(), "lsass.exe", "7d1e2f30-0000-4000-8000-000000000002")
    status, reply = source.post([lsass, ecs_1000_positional()])
    assert status == 202 and reply["emitted"] == 1
    (refused,) = reply["refused"]
    assert refused["host"] == "web01" and refused["image"] == "lsass.exe"
    assert "lsass.exe is a sensitive system process" in refused["reason"]
    assert [e["crash"]["image"] for e in source.events()] == ["netsh.exe"]


def test_token():
    running = Source(token="s3cret-token")
    try:
        for token in (None, "wrong", "s3cret-token2", ""):
            status, text = running.post(ecs_1000_positional(), token=token)
            assert status == 401 and "Authorization: Bearer" in text
        assert running.events() == []
        assert running.post(ecs_1000_positional(), token="s3cret-token") == accepted(emitted=1)
        assert len(running.events()) == 1
    finally:
        running.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_off_loopback_needs_a_token(host):
    with pytest.raises(ValueError, match="needs a token"):
        asyncio.run(MAIN(asyncio.Queue(), {"host": host, "port": free_port()}))
