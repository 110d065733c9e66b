# Copyright: contributors to crashdump.windows
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""crashdump.windows.wer_events: a webhook that turns forwarded Windows crash events into rulebook events."""

from __future__ import annotations

import asyncio
import collections
import hmac
import ipaddress
import logging
import os
import sys
from typing import Any

from aiohttp import web

try:
    from ansible_collections.crashdump.windows.plugins.plugin_utils import _forwarded_events as forwarded
except ImportError:
    # ansible-rulebook runs a source by its path (runpy), without Ansible's collection loader: import the
    # collection from the folder that holds ansible_collections/crashdump/windows/extensions/eda/plugins/event_source.
    sys.path.append(os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 7)))
    from ansible_collections.crashdump.windows.plugins.plugin_utils import _forwarded_events as forwarded

DOCUMENTATION = r"""
---
short_description: Receive Windows crash events (1000, 1001, 1002) from Winlogbeat or Windows Event Forwarding.
description:
  - A webhook for POSTed Windows Application log events, as Winlogbeat (or Elastic Agent, or Logstash's http output)
    sends them in ECS JSON, one event or a JSON array of them, or as event XML (Windows Event Forwarding,
    C(wevtutil qe /f:RenderedXml)).
  - The events are read as the crashdump.windows.crash_events module reads a host's Application log; each crash or
    hang becomes one rulebook event C({crash, meta}), where C(crash) is the record crash_events returns plus
    C(host) (C(host.name), else the event's computer name) and C(event_id), and C(meta.hosts) is the host, so
    that run_playbook limits its run to it.
  - A 1001 sent after the 1000 of the same report, or an event sent again, is the same crash and is not emitted again
    (the last 4096 reports are remembered).
  - A crash of a sensitive system process (C(lsass.exe), C(csrss.exe), ...) is not emitted, as the modules refuse such
    images; the reply names it under C(refused).
  - Replies 202 with C({emitted, duplicates, refused}), or 400 with C({error}) naming the event and the field when the
    body is not such events (nothing of that body is emitted), or 401 without the token.
options:
  host:
    description: The address to listen on. Any address other than a loopback one needs O(token).
    type: str
    default: 127.0.0.1
  port:
    description: The TCP port to listen on.
    type: int
    default: 5000
  token:
    description: When set, requests must carry C(Authorization: Bearer TOKEN).
    type: str
"""

EXAMPLES = r"""
- crashdump.windows.wer_events:
    port: 5000
"""

logger = logging.getLogger("crashdump.windows.wer_events")
REMEMBERED = 4096


class _Seen:
    """The crashes already emitted: a 1001 logged after its 1000, or an event sent again, adds none."""

    def __init__(self):
        self.keys = collections.OrderedDict()

    def first(self, crash):
        # One crash on a host: its WER report, else the event record it was read from.
        if crash["report_id"]:
            ident = crash["report_id"].lower()
        elif crash["record_id"] is not None:
            ident = (crash["event_id"], crash["record_id"])
        else:
            return True
        key = (crash["host"].casefold(), ident)
        if key in self.keys:
            return False
        self.keys[key] = True
        if len(self.keys) > REMEMBERED:
            self.keys.popitem(last=False)
        return True


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _app(queue: asyncio.Queue, token: str | None) -> web.Application:
    seen = _Seen()

    async def receive(request: web.Request) -> web.Response:
        if token and not hmac.compare_digest(request.headers.get("Authorization", ""), "Bearer " + token):
            raise web.HTTPUnauthorized(text="an Authorization: Bearer header with the token is required")
        try:
            found = forwarded.crash_events(forwarded.read_body(await request.read(), request.content_type))
        except forwarded.BadEvent as e:
            logger.warning("refused a request from %s: %s", request.remote, e)
            return web.json_response({"error": str(e)}, status=400)
        new = [event for event in found["events"] if seen.first(event["crash"])]
        for event in new:
            await queue.put(event)
        for refused in found["refused"]:
            logger.warning("no event for a crash on %s: %s", refused["host"], refused["reason"])
        return web.json_response({"emitted": len(new), "duplicates": len(found["events"]) - len(new),
                                  "refused": found["refused"]}, status=202)

    app = web.Application()
    app.router.add_post("/{path:.*}", receive)
    return app


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    host = args.get("host") or "127.0.0.1"
    port = int(args.get("port") or 5000)
    token = args.get("token") or None
    if not token and not _is_loopback(host):
        raise ValueError("wer_events: listening on %s (not a loopback address) needs a token" % host)
    runner = web.AppRunner(_app(queue, token))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        logger.info("wer_events listening on %s:%d", host, port)
        await asyncio.Event().wait()  # until ansible-rulebook cancels the source
    finally:
        await runner.cleanup()
