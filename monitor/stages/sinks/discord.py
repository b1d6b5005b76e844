"""The ``discord`` sink: a Discord channel webhook (Execute Webhook with ``wait=true``).

``allowed_mentions: {"parse": []}`` makes Discord ping nobody whatever the text says, and the
text itself has its markdown escaped and its mentions broken (``@everyone`` from a feed stays a
word). ``wait=true`` makes Discord answer only once the message exists: that answer is the
acknowledgement the outbox waits for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from monitor.base.settings import DiscordSinkSpec
from monitor.base.types import Alert
from monitor.stages.message import Renderer
from monitor.stages.sinks.http import check, post

MAX_CONTENT = 2000  # Discord refuses longer message content


def with_wait(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["wait"] = "true"
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class DiscordSink:
    name: str
    spec: DiscordSinkSpec
    session: aiohttp.ClientSession
    renderer: Renderer = field(init=False)

    def __post_init__(self) -> None:
        self.renderer = Renderer(
            "discord", self.spec.template, self.spec.digest_template, limit=MAX_CONTENT
        )

    async def deliver(self, alert: Alert) -> None:
        message: dict[str, Any] = {
            "content": self.renderer.render(alert.payload),
            "allowed_mentions": {"parse": []},
        }
        if self.spec.username:
            message["username"] = self.spec.username
        url = self.spec.url.get_secret_value()
        body = json.dumps(message, ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        answer = await post(
            self.session, with_wait(url), body, headers, deadline=self.spec.timeout, secrets=[url]
        )
        check(answer)
