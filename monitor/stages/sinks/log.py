"""The ``log`` sink: an alert becomes one structured log line (JSON under systemd)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from monitor.base.types import Alert
from monitor.stages.sinks.http import receipt

log = structlog.get_logger("newsmon.alert")


@dataclass
class LogSink:
    name: str

    async def deliver(self, alert: Alert) -> None:
        data = alert.payload.get("data", {})
        if alert.payload.get("type") == "digest":
            items = data.get("items", [])
            await log.ainfo(
                "digest",
                sink=self.name,
                id=alert.id,
                count=len(items),
                titles=[item.get("article", {}).get("title") for item in items][:20],
            )
            return
        article = data.get("article", {})
        await log.ainfo(
            "alert",
            sink=self.name,
            id=alert.id,
            type=alert.payload.get("type"),
            rule=data.get("rule", {}).get("id"),
            title=article.get("title"),
            url=article.get("url"),
            feed=article.get("feed", {}).get("name"),
            terms=[hit["text"] for hit in data.get("hits", [])][:10],
        )
        receipt.set("written to the log as an `alert` event")
