"""The ``webhook`` sink: Standard Webhooks (https://www.standardwebhooks.com/) over HTTP POST.

The body is the alert's stored payload, serialised the same way on every attempt; ``webhook-id``
is the alert id (stable across retries: receivers dedupe on it); ``webhook-timestamp`` is the
attempt's time; ``webhook-signature`` is ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``.
Success is a 2xx only; redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from monitor.config.schema import WebhookSinkSpec
from monitor.errors import SinkError
from monitor.fetch import parse_retry_after
from monitor.types import Alert


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def secret_key(secret: str) -> bytes:
    """Key bytes of a ``whsec_``-prefixed base64 secret, or of a plain secret string."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass
class WebhookSink:
    name: str
    spec: WebhookSinkSpec
    session: aiohttp.ClientSession

    async def deliver(self, alert: Alert) -> None:
        body = encode_body(alert.payload)
        timestamp = int(time.time())
        headers = {
            **self.spec.headers,
            "content-type": "application/json",
            "webhook-id": alert.id,
            "webhook-timestamp": str(timestamp),
        }
        if self.spec.secret is not None:
            key = secret_key(self.spec.secret.get_secret_value())
            headers["webhook-signature"] = sign(key, alert.id, timestamp, body)
        try:
            async with asyncio.timeout(self.spec.timeout):
                async with self.session.post(
                    self.spec.url, data=body, headers=headers, allow_redirects=False
                ) as resp:
                    await resp.read()
                    status = resp.status
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        except TimeoutError as e:
            raise SinkError(f"no answer within {self.spec.timeout:g}s") from e
        except aiohttp.ClientError as e:
            raise SinkError(f"{type(e).__name__}: {e}") from e
        if 200 <= status < 300:
            return
        if status == 410:
            raise SinkError("HTTP 410 Gone: the receiver asked to stop", permanent=True)
        hint = retry_after if status in (429, 503) else None
        raise SinkError(f"HTTP {status}", retry_after=hint)
