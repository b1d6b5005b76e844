"""Pure decisions about parsed entries: who they are, and whether they are new, updated or known.

Like reader's ``Decider``, nothing here does I/O: it takes data and returns data, and is tested
with tables. No publish-date cursor decides what is new; only the store's memory of identity
keys does. Dates only matter for the first sync's optional backfill window.

Identity follows the chain GUID, canonical link, content hash. A feed whose GUIDs repeat across
different entries in one document (or whose links do) is told apart by the next link of the
chain from then on: :func:`identify` says so, and the feed's mode is stored.

An entry whose text changed is ``UPDATED``; the change is *material* when its text changed once
timestamps are set aside. A material change makes a new revision with a word diff, unless the
entry already changed ``CHURN_CAP`` times: an entry that embeds the time of every request is not
news each time (reader caps the same way).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.base.types import ChangeKind, EntryChange, IdentityMode, ParsedEntry, StoredEntry
from monitor.stages.facts import facts_of
from monitor.stages.identity import IDENTITY_MODES, canonical_url, content_hash, entry_key
from monitor.stages.stories import material_hash, revision_diff

CHURN_CAP = 24


@dataclass(frozen=True)
class Identified:
    """A parsed entry with its identity key, canonical link and hashes."""

    key: str
    canonical_url: str | None
    content_hash: str
    material_hash: str
    entry: ParsedEntry


@dataclass(frozen=True)
class Identification:
    """A document's entries identified, and the identity mode that told them apart."""

    items: list[Identified]
    mode: IdentityMode


def _identified(entries: Iterable[ParsedEntry], mode: IdentityMode) -> list[Identified]:
    out = []
    for entry in entries:
        facts = facts_of(entry)  # derived by the parse worker, unless the entry was made here
        if facts is not None:
            canonical, hash_ = facts.canonical_url, facts.content_hash
            material = facts.material_hash
        else:
            canonical = canonical_url(entry.link) if entry.link else None
            hash_ = content_hash(entry)
            material = material_hash(entry.title, entry.summary, entry.content)
        key = entry_key(entry, canonical, hash_, mode)
        out.append(Identified(key, canonical, hash_, material, entry))
    return out


def _collides(items: Sequence[Identified], mode: IdentityMode) -> bool:
    """Whether one key stands for different entries: distinct links (or texts) under one key."""
    if mode is IdentityMode.HASH:
        return False
    seen: dict[str, Identified] = {}
    for item in items:
        other = seen.setdefault(item.key, item)
        if other is item:
            continue
        if mode is IdentityMode.GUID and (item.canonical_url or other.canonical_url):
            if item.canonical_url != other.canonical_url:
                return True
        elif item.content_hash != other.content_hash:
            return True
    return False


def identify(
    entries: Sequence[ParsedEntry], mode: IdentityMode = IdentityMode.GUID
) -> Identification:
    """Identity for each entry, moving down the chain while keys collide; an entry whose key
    repeats within one document (a true duplicate) is kept once."""
    start = IDENTITY_MODES.index(mode)
    for current in IDENTITY_MODES[start:]:
        items = _identified(entries, current)
        if not _collides(items, current):
            break
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.key in seen:
            continue
        seen.add(item.key)
        unique.append(item)
    return Identification(unique, current)


def shared_links(ident: Identification) -> set[str]:
    """Canonical links that several different entries of one document share (a feed whose
    items all link to its home page): such a link tells neither an entry nor a story."""
    counts = Counter(item.canonical_url for item in ident.items if item.canonical_url)
    return {url for url, n in counts.items() if n > 1}


def unknown_items(ident: Identification, stored: Mapping[str, StoredEntry]) -> list[Identified]:
    """Entries whose key the store does not know and whose link is their own: each may be a
    known entry under a new key (its GUID changed), found by its link or, without one, its
    text."""
    shared = shared_links(ident)
    return [i for i in ident.items if i.key not in stored and i.canonical_url not in shared]


@dataclass(frozen=True)
class Rekeyed:
    """Known entries found under new keys: ``stored`` maps every key the store knows now;
    ``mode`` is where the feed's identity must move (None: it stays), because entries known
    by their GUID turned up under another one."""

    stored: dict[str, StoredEntry]
    mode: IdentityMode | None = None


def rekey(
    ident: Identification,
    stored: Mapping[str, StoredEntry],
    unknown: Sequence[Identified],
    by_link: Mapping[str, StoredEntry],
    by_hash: Mapping[str, StoredEntry],
) -> Rekeyed:
    """Match the unknown entries to the stored entries found by link or text.

    An entry the document also lists under its own key is not taken twice; one found for an
    entry known by its GUID means the feed's GUIDs cannot be trusted: it moves down the chain
    for good (to links, or to text when the moved entries had no link)."""
    found = dict(stored)
    taken = {known.id for known in stored.values()}
    moved: set[IdentityMode] = set()
    for item in unknown:
        if item.canonical_url:
            known, how = by_link.get(item.canonical_url), IdentityMode.LINK
        else:
            known, how = by_hash.get(item.content_hash), IdentityMode.HASH
        if known is None or known.id in taken:
            continue
        taken.add(known.id)
        found[item.key] = known
        if known.key.startswith("guid:") and known.key != item.key:
            moved.add(how)
    if ident.mode is not IdentityMode.GUID or not moved:
        return Rekeyed(found)
    return Rekeyed(found, IdentityMode.LINK if IdentityMode.LINK in moved else IdentityMode.HASH)


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
    churn_cap: int = CHURN_CAP

    def decide(
        self, items: Sequence[Identified], stored: Mapping[str, StoredEntry]
    ) -> list[EntryChange]:
        return [self._decide(item, stored.get(item.key)) for item in items]

    def _decide(self, item: Identified, known: StoredEntry | None) -> EntryChange:
        change = EntryChange(
            ChangeKind.SAME,
            item.key,
            item.entry,
            item.canonical_url,
            item.content_hash,
            known,
            material_hash=item.material_hash,
        )
        if known is None:
            return _replace(change, kind=ChangeKind.NEW, alert=self._alerts_when_new(item.entry))
        if known.content_hash == item.content_hash:
            return change
        before = known.material_hash
        if before is None and known.text is not None:  # recorded before material hashes
            before = material_hash(*known.text)
        if before == item.material_hash or known.hash_changes >= self.churn_cap:
            return _replace(change, kind=ChangeKind.UPDATED)
        entry = item.entry
        if known.text is None:  # a tombstone: its text is gone, so an edit cannot be told
            return _replace(
                change, kind=ChangeKind.UPDATED, material=True, revision=known.revision + 1
            )
        return _replace(
            change,
            kind=ChangeKind.UPDATED,
            material=True,
            revision=known.revision + 1,
            diff=revision_diff(known.text, (entry.title, entry.summary, entry.content)),
            alert=True,
        )

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


def _replace(change: EntryChange, **values: object) -> EntryChange:
    return replace(change, **values)  # type: ignore[arg-type]
