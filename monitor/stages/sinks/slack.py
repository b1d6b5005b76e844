"""The ``slack`` sink: a Slack incoming webhook (https://api.slack.com/messaging/webhooks).

Feed text is escaped exactly as Slack asks (``&``, ``<``, ``>``), so ``<!channel>`` in a title is
text, not a ping; ``link_names`` is off and unfurling is off (a feed's link is not a preview the
channel asked for). Slack answers 200 ``ok``; anything else is a failure (410: channel archived).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import aiohttp

from monitor.base.settings import SlackSinkSpec
from monitor.base.types import Alert
from monitor.stages.message import Renderer
from monitor.stages.sinks.http import check, post

# Slack truncates text past 40,000 characters and advises 4,000 for readability.
MAX_TEXT = 4000


@dataclass
class SlackSink:
    name: str
    spec: SlackSinkSpec
    session: aiohttp.ClientSession
    renderer: Renderer = field(init=False)

    def __post_init__(self) -> None:
        self.renderer = Renderer(
            "slack", self.spec.template, self.spec.digest_template, limit=MAX_TEXT
        )

    async def deliver(self, alert: Alert) -> None:
        message = {
            "text": self.renderer.render(alert.payload),
            "mrkdwn": True,
            "link_names": False,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        url = self.spec.url.get_secret_value()
        body = json.dumps(message, ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        check(await post(self.session, url, body, headers, deadline=self.spec.timeout))
