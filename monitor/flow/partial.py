"""Which body a poll parses: the whole one, or only its head, tail and changed items.

:mod:`monitor.stages.items` decides; this module applies it to a fetched body and says what
to keep for the next poll.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from monitor.base.types import FeedForUpdate, FetchResult, ItemState
from monitor.stages.decide import Identification
from monitor.stages.items import split_items
from monitor.stages.schedule import PollHints, quiet_for


@dataclass(frozen=True)
class Reading:
    """The body to parse (``partial``: only the changed items), and the items to save."""

    result: FetchResult
    items: ItemState | None
    partial: bool = False

    def whole(self, fetched: FetchResult, now: datetime) -> Reading:
        """The same body, read whole (a partial document that would not parse)."""
        items = replace(self.items, full_parsed_at=now) if self.items is not None else None
        return Reading(fetched, items)


def plan_reading(feed: FeedForUpdate, result: FetchResult, now: datetime) -> Reading:
    """Parse only what changed when that is safe (see :mod:`monitor.stages.items`)."""
    assert result.body is not None
    split = split_items(result.body, result.headers.get("content-type"))
    if split is None:
        return Reading(result, None)
    body = split.partial(feed.items, now) if feed.synced else None
    if body is None or feed.items is None:
        return Reading(result, split.state(now))
    return Reading(replace(result, body=body), split.state(feed.items.full_parsed_at), True)


def seen_keys(
    feed: FeedForUpdate, ident: Identification, reading: Reading
) -> tuple[str, ...] | None:
    if not feed.synced or reading.partial:
        return None
    return tuple(item.key for item in ident.items)


def partial_hints(
    hints: PollHints, published: tuple[datetime | None, ...], now: datetime
) -> PollHints:
    """Hints after a partial read: the stored rhythm (already in ``hints``), and the silence
    since the newest of the stored and the changed entries."""
    quiet = [q for q in (hints.quiet_for, quiet_for(published, now)) if q is not None]
    return replace(hints, quiet_for=min(quiet) if quiet else None)
