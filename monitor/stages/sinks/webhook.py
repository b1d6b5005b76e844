"""The ``webhook`` sink: Standard Webhooks (https://www.standardwebhooks.com/) over HTTP POST.

The body is the alert's stored payload, serialised the same way on every attempt; ``webhook-id``
is the alert id (stable across retries: receivers dedupe on it); ``webhook-timestamp`` is the
attempt's time; ``webhook-signature`` is ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``,
once per secret, space-separated, so that a receiver can rotate its secret without downtime.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from monitor.base.settings import WebhookSinkSpec
from monitor.base.types import Alert
from monitor.stages.sinks.http import check, post


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def secret_key(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the config accepts no other kind)."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class WebhookSink:
    name: str
    spec: WebhookSinkSpec
    session: aiohttp.ClientSession
    wall_clock: Callable[[], float] = time.time  # receivers check the timestamp against theirs
    _keys: tuple[bytes, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = tuple(secret_key(s) for s in self.spec.secrets)

    async def deliver(self, alert: Alert) -> None:
        body = encode_body(alert.payload)
        timestamp = int(self.wall_clock())
        headers = {
            **self.spec.headers,
            "content-type": "application/json",
            "webhook-id": alert.id,
            "webhook-timestamp": str(timestamp),
        }
        if self._keys:
            headers["webhook-signature"] = " ".join(
                sign(key, alert.id, timestamp, body) for key in self._keys
            )
        answer = await post(self.session, self.spec.url, body, headers, deadline=self.spec.timeout)
        check(answer)
