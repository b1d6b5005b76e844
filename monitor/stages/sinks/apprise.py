"""The ``apprise`` sink: the many services Apprise knows (an optional extra: ``newsmon[apprise]``).

Apprise only says whether every URL accepted the message, so a partial failure is a failure and
the whole alert is retried (at least once: some services may see it twice). Its URLs carry
tokens, so they are never logged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from monitor.base.errors import SinkError
from monitor.base.settings import AppriseSinkSpec
from monitor.base.types import Alert
from monitor.stages.message import Renderer, render_subject

MAX_TEXT = 4000


@dataclass
class AppriseSink:
    name: str
    spec: AppriseSinkSpec
    renderer: Renderer = field(init=False)
    _apprise: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import apprise

        self.renderer = Renderer(
            "text", self.spec.template, self.spec.digest_template, limit=MAX_TEXT
        )
        self._apprise = apprise.Apprise()
        for url in self.spec.urls:
            self._apprise.add(url.get_secret_value())

    async def deliver(self, alert: Alert) -> None:
        import apprise

        try:
            async with asyncio.timeout(self.spec.timeout):
                ok = await self._apprise.async_notify(
                    body=self.renderer.render(alert.payload),
                    title=render_subject(self.spec.title, alert.payload),
                    body_format=apprise.NotifyFormat.TEXT,
                )
        except TimeoutError as e:
            raise SinkError(f"no answer within {self.spec.timeout:g}s") from e
        if not ok:
            raise SinkError("apprise: at least one service did not accept the message")
