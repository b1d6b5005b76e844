"""Stories, not items: near-duplicate sketches, material changes and word diffs. Pure.

The same story reaches newsmon from several outlets and feeds: with the same canonical link, or
with near-identical text (a syndicated wire story with another first paragraph). A MinHash
sketch of the three-word shingles of the normal title and body estimates how much two texts
share (Jaccard similarity); at ``SAME_STORY`` or more they are one story. The sketch is a
one-permutation MinHash (one hash per shingle, 64 bins: cheap enough for every new entry), and
its bins are grouped into ``BANDS`` bands whose hashes the store indexes, so that candidates
are found by lookup and only they are compared (locality-sensitive hashing).

Which story a new entry tells is decided by :class:`StoryCandidates`: the story its link
already tells, else the nearest by text within the window, else a new one. The store runs that
decision inside its write transaction (so two feeds carrying one story cannot both start it),
over the candidates it read for the batch.

An edit is material when the normal text changes once timestamps ("10:32 WIB", "2 jam lalu")
are set aside; a material edit becomes a revision with a word-level diff.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from monitor.base.text import fold, split_words
from monitor.base.types import SAME_STORY

SHINGLE = 3
BINS = 64
BANDS = 16  # of 4 bins: P(candidate) 0.9998 at similarity 0.8, 0.64 at 0.5, 0.12 at 0.3
_EMPTY = (1 << 64) - 1
_SKETCH = struct.Struct(f">{BINS}Q")

_TIMESTAMPS = re.compile(
    r"\b\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\s*(?:wib|wita|wit|utc|gmt|am|pm))?\b"
    r"|\b\d+\s+(?:detik|menit|jam|hari|second|minute|hour|day)s?\s+(?:yang\s+)?(?:lalu|ago)\b"
    r"|\b(?:diperbarui|updated|update|last updated)\b[^.\n]{0,40}",
    re.IGNORECASE,
)


def words_of(*texts: str) -> list[str]:
    """The normal words of ``texts``, as the matcher sees them."""
    out: list[str] = []
    for text in texts:
        out += split_words(fold(text))[0]
    return out


def shingles(words: Sequence[str], size: int = SHINGLE) -> set[str]:
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def sketch(features: Iterable[str]) -> tuple[int, ...]:
    """One-permutation MinHash: the smallest hash in each of ``BINS`` bins (top bits pick it).

    A short text leaves bins empty (60 shingles leave about 25 of 64), and empty bins would
    make every two short texts look alike to the band index. Each empty bin borrows from the
    next filled one, mixed with the distance (rotation densification, Shrivastava and Li
    2014): equal sets still give equal sketches, and similar sets mostly equal bins.
    """
    mins = [_EMPTY] * BINS
    for feature in features:
        value = _hash64(feature)
        slot = value >> 58
        if value < mins[slot]:
            mins[slot] = value
    if _EMPTY not in mins or all(m == _EMPTY for m in mins):
        return tuple(mins)
    dense = list(mins)
    for slot in range(BINS):
        distance = 1
        while mins[slot] == _EMPTY and mins[(slot + distance) % BINS] == _EMPTY:
            distance += 1
        if mins[slot] == _EMPTY:
            source = mins[(slot + distance) % BINS]
            dense[slot] = _hash64(f"{source}:{distance}") | 1  # never _EMPTY's value again
    return tuple(dense)


def story_sketch(title: str, body: str) -> tuple[int, ...] | None:
    """The sketch of an article, or None when it is too short to compare (under 12 words)."""
    words = words_of(title, body)
    if len(words) < 12:
        return None
    return sketch(shingles(words))


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two sketches (bins empty in both do not count)."""
    same = total = 0
    for x, y in zip(a, b, strict=True):
        if x == _EMPTY and y == _EMPTY:
            continue
        total += 1
        same += x == y
    return same / total if total else 0.0


@functools.lru_cache(maxsize=4096)  # a sketch's keys are wanted at lookup, compare and insert
def band_keys(sketch_: tuple[int, ...]) -> tuple[int, ...]:
    """One 63-bit key per band: what the store indexes to find candidate copies."""
    rows = BINS // BANDS
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(
            repr((band, sketch_[band * rows : (band + 1) * rows])).encode(), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "big") >> 1)  # fits a signed BIGINT
    return tuple(keys)


def pack(sketch_: Sequence[int]) -> bytes:
    return _SKETCH.pack(*sketch_)


def unpack(data: bytes) -> tuple[int, ...]:
    return tuple(_SKETCH.unpack(data))


def material_hash(title: str, summary: str, content: str) -> str:
    """Hash of what an edit must change to count: the normal text without timestamps."""
    digest = hashlib.sha256()
    for text in (title, summary, content):
        digest.update(" ".join(_TIMESTAMPS.sub(" ", fold(text)).split()).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def word_diff(before: str, after: str) -> dict[str, Any]:
    """What changed between two texts, word by word: the texts, and the runs added and removed."""
    old, new = before.split(), after.split()
    added, removed = [], []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            removed.append(" ".join(old[i1:i2]))
        if op in ("replace", "insert"):
            added.append(" ".join(new[j1:j2]))
    return {"before": before, "after": after, "added": added, "removed": removed}


def revision_diff(
    before: tuple[str, str, str], after: tuple[str, str, str]
) -> dict[str, Any] | None:
    """The ``diff`` of an ``article.updated`` alert, or None when nothing changed."""
    diff: dict[str, Any] = {"fields": []}
    for name, old, new in zip(("title", "summary", "content"), before, after, strict=True):
        if " ".join(old.split()) != " ".join(new.split()):
            diff["fields"].append(name)
            diff[name] = word_diff(old, new)
    return diff if diff["fields"] else None


# --- which story a new entry tells ---------------------------------------------------------

Sketch = tuple[int, ...]


@dataclass(frozen=True)
class StoryPolicy:
    """How stories are told apart: copies within ``window`` at ``similarity`` or more merge."""

    window: timedelta = timedelta(days=3)
    similarity: float = SAME_STORY


@dataclass
class StoryCandidates:
    """Stories a batch of new entries may join: by link, and by the bands of their sketches
    (only stories that share a band with an entry are compared with it).

    :meth:`place` decides one entry at a time, so that entries of one batch find each other:
    a story started by an earlier entry has a negative id, ``-(its index in fresh + 1)``,
    until the store inserts it.
    """

    similarity: float = SAME_STORY
    by_url: dict[str, int] = field(default_factory=dict)
    sketches: dict[int, Sketch] = field(default_factory=dict)
    by_band: dict[tuple[int, int], set[int]] = field(default_factory=dict)
    fresh: list[tuple[str | None, Sketch | None]] = field(default_factory=list)

    def add(self, story: int, sketch_: Sketch) -> None:
        self.sketches[story] = sketch_
        for band in enumerate(band_keys(sketch_)):
            self.by_band.setdefault(band, set()).add(story)

    def nearest(self, sketch_: Sketch) -> tuple[int, float] | None:
        """The known story most like ``sketch_`` and how alike (the lowest id on a tie)."""
        bands = enumerate(band_keys(sketch_))
        near = set().union(*(self.by_band.get(band, ()) for band in bands))
        scored = [(similarity(self.sketches[story], sketch_), -story) for story in near]
        if not scored:
            return None
        score, story = max(scored)
        return -story, score

    def place(self, link: str | None, sketch_: Sketch | None) -> int:
        """The story a new entry tells: the one its link already tells, else the nearest in
        text at ``similarity`` or more, else a fresh one (negative until inserted)."""
        if link and link in self.by_url:
            return self.by_url[link]
        story: int | None = None
        if sketch_:
            best = self.nearest(sketch_)
            if best is not None and best[1] >= self.similarity:
                story = best[0]
        if story is None:
            self.fresh.append((link, sketch_))
            story = -len(self.fresh)
            if sketch_:
                self.add(story, sketch_)
        if link:
            self.by_url[link] = story
        return story
