"""Stories, not items: near-duplicate sketches, material changes and word diffs. Pure.

The same story reaches newsmon from several outlets and feeds: with the same canonical link, or
with near-identical text (a syndicated wire story with another first paragraph). A MinHash
sketch of the three-word shingles of the normal title and body estimates how much two texts
share (Jaccard similarity); at ``SAME_STORY`` or more they are one story. The sketch is a
one-permutation MinHash (one hash per shingle, 64 bins: cheap enough for every new entry), and
its bins are grouped into ``BANDS`` bands whose hashes the store indexes, so that candidates
are found by lookup and only they are compared (locality-sensitive hashing).

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
from typing import Any

from monitor.rules.text import fold, split_words

SHINGLE = 3
BINS = 64
BANDS = 16  # of 4 bins: P(candidate) 0.9998 at similarity 0.8, 0.64 at 0.5, 0.12 at 0.3
SAME_STORY = 0.5  # measured: bench/stories.py
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
