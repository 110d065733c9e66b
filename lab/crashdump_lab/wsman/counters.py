"""What crossed the wire to each served host: HTTP requests, bytes in and out
(HTTP request and response bytes, as the listener reads and writes them, so
after TLS for HTTPS) and commands by kind, counted by the endpoint itself.

Command kinds, as runner.py and psrp_runner.py recognise them: ``agent`` (the
collection's bootstrap with a batch), ``put_file`` and ``fetch_file``
(ansible-core's own transfer scripts, 2.19's and 2.16's), ``refused``
(anything else). A WinRS Command and a PSRP pipeline each count once, when
they run: ansible-core 2.16's psrp fetch_file is several fetch_file
pipelines (the stream opened, one per chunk, the stream closed).

With a file, every change is written to it (JSON, replaced atomically)
before the response that ends the request leaves, so whoever has a reply
reads counters that include the request: a callback reading the file
between tasks attributes each task's traffic to it.
"""

from __future__ import annotations

import json
import os
import threading

KINDS = ("agent", "put_file", "fetch_file", "refused")


def _zero():
    return {"requests": 0, "bytes_in": 0, "bytes_out": 0, "commands": dict.fromkeys(KINDS, 0)}


class WireCounters:
    def __init__(self, hosts, path=None):
        self.path = path
        self.lock = threading.Lock()
        self.hosts = {h: _zero() for h in hosts}
        self.publish()

    def received(self, host, size):
        """Bytes read from a client: published with the request they belong to."""
        with self.lock:
            self.hosts[host]["bytes_in"] += size

    def add(self, host, requests=0, bytes_out=0, command=None):
        with self.lock:
            counts = self.hosts[host]
            counts["requests"] += requests
            counts["bytes_out"] += bytes_out
            if command is not None:
                counts["commands"][command] += 1
            self._write()

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps(self.hosts))

    def publish(self):
        with self.lock:
            self._write()

    def _write(self):
        if self.path is None:
            return
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"hosts": self.hosts}, f, sort_keys=True)
        os.replace(tmp, self.path)


class CountedStream:
    """A handler's rfile or wfile that reports the size of each read or write
    to ``count`` (a write is reported before it is sent)."""

    def __init__(self, raw, count):
        self.raw = raw
        self.count = count

    def readline(self, *args):
        data = self.raw.readline(*args)
        self.count(len(data))
        return data

    def read(self, *args):
        data = self.raw.read(*args)
        self.count(len(data))
        return data

    def write(self, data):
        self.count(len(data))
        return self.raw.write(data)

    def __getattr__(self, name):
        return getattr(self.raw, name)
