"""The ``telegram`` sink: a bot's ``sendMessage`` to one chat (https://core.telegram.org/bots/api).

Text goes as the Bot API's HTML, every feed value HTML-escaped. The token is part of the URL, so
it is redacted from every error. On 429 Telegram puts the wait in the JSON answer
(``parameters.retry_after``), which the dispatcher honours like a ``Retry-After`` header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from monitor.base.settings import TelegramSinkSpec
from monitor.base.types import Alert
from monitor.stages.message import Renderer
from monitor.stages.sinks.http import Answer, check, post

MAX_TEXT = 4096  # the Bot API's limit for one message


def retry_after(answer: Answer) -> float | None:
    try:
        wait = json.loads(answer.body)["parameters"]["retry_after"]
    except (ValueError, KeyError, TypeError):
        return None
    return float(wait) if isinstance(wait, int | float) else None


@dataclass
class TelegramSink:
    name: str
    spec: TelegramSinkSpec
    session: aiohttp.ClientSession
    renderer: Renderer = field(init=False)

    def __post_init__(self) -> None:
        self.renderer = Renderer(
            "telegram", self.spec.template, self.spec.digest_template, limit=MAX_TEXT
        )

    async def deliver(self, alert: Alert) -> None:
        message: dict[str, Any] = {
            "chat_id": self.spec.chat_id,
            "text": self.renderer.render(alert.payload),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
            "disable_notification": self.spec.silent,
        }
        token = self.spec.token.get_secret_value()
        url = f"{self.spec.api_url.rstrip('/')}/bot{token}/sendMessage"
        body = json.dumps(message, ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        answer = await post(
            self.session, url, body, headers, deadline=self.spec.timeout, secrets=[token]
        )
        check(answer, retry_after=retry_after(answer) if answer.status == 429 else None)
