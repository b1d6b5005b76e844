"""One HTTP POST to a receiver, judged the way Standard Webhooks says, for every HTTP sink.

Success is a 2xx and nothing else: a redirect is a failure and is not followed (the user must fix
the URL; following it would send a signed alert somewhere nobody configured). 410 Gone disables
the sink. 429 and 503 carry a ``Retry-After`` the dispatcher honours (capped). The whole exchange
has one total deadline. Error messages never carry the URL: for chat services it is the secret.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import aiohttp

from monitor.base.errors import SinkError, SinkGone
from monitor.stages.fetch import parse_retry_after

MAX_ANSWER = 64 * 1024
MAX_RECEIPT = 2000

# What the receiver last answered, in words, in this task's context: ``newsmon sinks test``
# prints it. Every sink that talks to a receiver sets it; nothing else reads it.
receipt: ContextVar[str | None] = ContextVar("receipt", default=None)


def make_sink_session() -> aiohttp.ClientSession:
    """The client session every HTTP sink shares.

    Its pool has no limit of its own, on purpose: each sink's lane (its ``concurrency``) bounds
    the connections that sink can hold, so a hung sink holds only its own. A pool-wide cap
    smaller than the lanes together would let one wide, hung sink take every connection and
    starve the rest. Receivers are the user's own endpoints, often on the local network: there
    is no address guard. Deadlines are per request (``post``).
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=None, connect=10),
    )


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def describe(answer: Answer) -> str:
    """``HTTP 200 OK: ok`` (the status, its phrase, the start of the body)."""
    try:
        phrase = http.HTTPStatus(answer.status).phrase
    except ValueError:
        phrase = ""
    body = answer.body[:MAX_RECEIPT].decode("utf-8", errors="replace").strip()
    head = f"HTTP {answer.status} {phrase}".rstrip()
    return f"{head}: {body}" if body else head


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    deadline: float,
    secrets: Iterable[str] = (),
) -> Answer:
    """POST ``body`` and read at most 64 KiB of the answer, all within ``deadline`` seconds."""
    try:
        async with asyncio.timeout(deadline):
            async with session.post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as resp:
                answer = Answer(
                    resp.status, dict(resp.headers), await resp.content.read(MAX_ANSWER)
                )
    except TimeoutError as e:
        raise SinkError(f"no answer within {deadline:g}s") from e
    except aiohttp.ClientError as e:
        raise SinkError(redact(f"{type(e).__name__}: {e}", [url, *secrets])) from e
    receipt.set(redact(describe(answer), [url, *secrets]))
    return answer


def check(answer: Answer, *, retry_after: float | None = None) -> None:
    """Raise unless the answer is a 2xx; ``retry_after`` overrides the header's hint."""
    status = answer.status
    if 200 <= status < 300:
        return
    if status == 410:
        raise SinkGone("HTTP 410 Gone: the receiver asked to stop; the sink is disabled")
    if 300 <= status < 400:
        raise SinkError(f"HTTP {status}: redirects are not followed; update the sink's URL")
    hint = None
    if status in (429, 503):
        hint = (
            retry_after
            if retry_after is not None
            else parse_retry_after(answer.headers.get("Retry-After"))
        )
    raise SinkError(f"HTTP {status}", retry_after=hint)
