"""Pure decisions about parsed entries: who they are, and whether they are new, updated or known.

Like reader's ``Decider``, nothing here does I/O: it takes data and returns data, and is tested
with tables. No publish-date cursor decides what is new; only the store's memory of identity
keys does. Dates only matter for the first sync's optional backfill window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.identity import canonical_url, content_hash, entry_key
from monitor.types import ChangeKind, EntryChange, ParsedEntry, StoredEntry


@dataclass(frozen=True)
class Identified:
    """A parsed entry with its identity key, canonical link and content hash."""

    key: str
    canonical_url: str | None
    content_hash: str
    entry: ParsedEntry


def identify(entries: Iterable[ParsedEntry]) -> list[Identified]:
    """Identity for each entry; an entry whose key repeats within one fetch is kept once."""
    seen: set[str] = set()
    out = []
    for entry in entries:
        canonical = canonical_url(entry.link) if entry.link else None
        hash_ = content_hash(entry)
        key = entry_key(entry, canonical, hash_)
        if key in seen:
            continue
        seen.add(key)
        out.append(Identified(key, canonical, hash_, entry))
    return out


@dataclass(frozen=True)
class Decider:
    """Classifies a feed's entries against what the store knows.

    ``first_sync`` is True when the feed has never been synced; then new entries are recorded
    silently unless ``backfill`` (seconds, ``inf`` for everything) puts them in the window.
    Entries without a date only alert on a first sync with an unlimited backfill.
    """

    now: datetime
    first_sync: bool
    backfill: float | None = None

    def decide(
        self, items: Sequence[Identified], stored: Mapping[str, StoredEntry]
    ) -> list[EntryChange]:
        changes = []
        for item in items:
            known = stored.get(item.key)
            if known is None:
                kind, alert = ChangeKind.NEW, self._alerts_when_new(item.entry)
            elif known.content_hash != item.content_hash:
                kind, alert = ChangeKind.UPDATED, False
            else:
                kind, alert = ChangeKind.SAME, False
            changes.append(
                EntryChange(
                    kind, item.key, item.entry, item.canonical_url, item.content_hash, known, alert
                )
            )
        return changes

    def _alerts_when_new(self, entry: ParsedEntry) -> bool:
        if not self.first_sync:
            return True
        if self.backfill is None:
            return False
        if math.isinf(self.backfill):
            return True
        if entry.published is None:
            return False
        return entry.published >= self.now - timedelta(seconds=self.backfill)
