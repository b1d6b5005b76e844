"""A poll's feed-level decisions: where the feed is fetched from, whether a body needs parsing,
when to come back, and what a failure does. Pure (the caller fetches, parses and records).

A permanent redirect seen :data:`MOVE_AFTER` polls in a row moves the feed (one 301 may be a
mistake); the configured URL stays the feed's identity. A body is parsed only when it may hold
a change: not after a 304, not when its bytes hash as last time, and not when only its dates
and comments differ (:func:`monitor.stages.scan.scan_fingerprint`). A failing feed is a value:
backed off, disabled by a 410, marked failing after ``failing_after`` polls in a row.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.base.errors import HTTPStatusError, UpdateError
from monitor.base.settings import PollPolicy
from monitor.base.types import (
    FeedForUpdate,
    FeedUpdateIntent,
    FetchResult,
    PollStatus,
    RedirectSeen,
    Relocation,
)
from monitor.stages.scan import scan_fingerprint
from monitor.stages.schedule import PollHints, next_poll_delay

MOVE_AFTER = 3


def follow_redirect(
    feed: FeedForUpdate, moved_to: str | None
) -> tuple[RedirectSeen, Relocation | None]:
    """Count a permanent redirect; the same one seen :data:`MOVE_AFTER` polls in a row moves the
    feed. The configured URL stays the feed's identity: only where it is fetched from changes."""
    if moved_to is None or moved_to == feed.fetch_url:
        return RedirectSeen(None, 0), None
    count = feed.redirect_count + 1 if moved_to == feed.redirect_url else 1
    if count >= MOVE_AFTER:
        return RedirectSeen(None, 0), Relocation(moved_to, "moved")
    return RedirectSeen(moved_to, count), None


@dataclass(frozen=True)
class Validators:
    """What identifies a body read: the server's validators and our two hashes of it."""

    etag: str | None
    last_modified: str | None
    body_hash: str
    scan_hash: str

    @classmethod
    def of(cls, result: FetchResult) -> Validators:
        assert result.body is not None
        return cls(
            result.etag,
            result.last_modified,
            hashlib.sha256(result.body).hexdigest(),
            scan_fingerprint(result.body, result.headers.get("content-type")),
        )

    def skip_parse(self, feed: FeedForUpdate) -> PollStatus | None:
        """Why the body needs no parse (the same bytes, or only dates and comments differ from
        the body last parsed), or None: it must be parsed."""
        if self.body_hash == feed.body_hash:
            return PollStatus.NOT_MODIFIED
        if feed.synced and self.scan_hash == feed.scan_hash:
            return PollStatus.UNCHANGED
        return None

    def saved_by(self, intent: FeedUpdateIntent) -> FeedUpdateIntent:
        return replace(
            intent,
            etag=self.etag,
            last_modified=self.last_modified,
            body_hash=self.body_hash,
            scan_hash=self.scan_hash,
        )


def next_poll_at(
    policy: PollPolicy, hints: PollHints, now: datetime, rng: random.Random
) -> datetime:
    """When a feed that answered comes next: its interval, adapted to what it and its server
    said of their rhythm."""
    return now + timedelta(seconds=next_poll_delay(policy, 0, hints, rng=rng))


def failed_intent(
    feed: FeedForUpdate,
    policy: PollPolicy,
    error: UpdateError,
    now: datetime,
    rng: random.Random,
) -> FeedUpdateIntent:
    """What a failed poll records: backed off (honouring ``Retry-After``), failing after
    ``failing_after`` failures in a row, disabled by a 410."""
    failures = feed.consecutive_failures + 1
    retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
    delay = next_poll_delay(policy, failures, PollHints(retry_after=retry_after), rng=rng)
    gone = isinstance(error, HTTPStatusError) and error.status == 410
    return FeedUpdateIntent(
        feed.id,
        now,
        now + timedelta(seconds=delay),
        PollStatus.GONE if gone else PollStatus.ERROR,
        error=f"{error.message}: feed disabled" if gone else error.message,
        error_kind=error.kind,
        failing=failures >= policy.failing_after,
    )
