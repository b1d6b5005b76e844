"""Parsing only what changed: a feed body cut into its items, each item known by a digest.

feedparser's cost grows with the whole document, so a 300-entry feed that gained one entry
cost ten times a 30-entry one. Before the parse, :func:`split_items` cuts a body into its head,
its ``<item>``/``<entry>`` elements and its tail, at the byte level (CDATA sections are kept
whole, so markup written inside one is never taken for an element). Each item gets an 8-byte
digest of its exact bytes, and the rest of the document a fingerprint with its volatile parts
(build dates, comments) removed, as :mod:`monitor.stages.scan` does for the whole body.

When the head is what it was at the last parse and few items are new or edited,
:meth:`ItemSplit.partial` builds the document of the head, those items and the tail: feedparser
reads that instead, and only those entries are decided. Every other item is byte for byte one
that was decided before, so deciding it again would say "the same". The whole document is still
parsed when the split is not clean (text between items, no items, a namespaced element name),
when the head changed, when more than half of the items did, and at least every ``FULL_EVERY``
(so that entries that left the feed are marked as no longer listed, and a feed's observed rhythm
is measured again).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.base.types import DIGEST, ItemState
from monitor.stages.scan import scan_fingerprint

FULL_EVERY = timedelta(hours=1)

# An item: from its start tag to its end tag, CDATA sections inside skipped whole (atomic
# groups and possessive repeats: no backtracking, linear in the body).
_ITEM = re.compile(
    rb"<(item|entry)(?:\s[^>]*)?>"
    rb"(?>(?><!\[CDATA\[(?:[^\]]|\](?!\]>))*+\]\]>)|[^<]++|<(?!/\1\s*>|!\[CDATA\[))*+"
    rb"</\1\s*>"
)
_NESTED = re.compile(rb"<(?:item|entry)[\s>]")
_CDATA = re.compile(rb"<!\[CDATA\[(?:[^\]]|\](?!\]>))*+\]\]>")


@dataclass(frozen=True)
class ItemSplit:
    """A body cut into head, items and tail."""

    head: bytes
    items: tuple[bytes, ...]
    tail: bytes
    head_hash: str

    @property
    def digests(self) -> bytes:
        return b"".join(hashlib.sha256(item).digest()[:DIGEST] for item in self.items)

    def state(self, full_parsed_at: datetime) -> ItemState:
        return ItemState(self.head_hash, self.digests, full_parsed_at)

    def changed(self, before: ItemState) -> list[bytes]:
        """The items whose exact bytes were not in the body last parsed."""
        known = before.known
        return [i for i in self.items if hashlib.sha256(i).digest()[:DIGEST] not in known]

    def partial(self, before: ItemState | None, now: datetime) -> bytes | None:
        """The document of the head, the changed items and the tail, when parsing that is
        enough (see the module docstring); None: parse the whole body."""
        if before is None or before.head_hash != self.head_hash:
            return None
        if now - before.full_parsed_at >= FULL_EVERY:
            return None
        changed = self.changed(before)
        if 2 * len(changed) > len(self.items):
            return None
        return self.head + b"".join(changed) + self.tail


def split_items(body: bytes, content_type: str | None) -> ItemSplit | None:
    """``body`` as head, items and tail, or None when it does not cut cleanly: no items, an
    item inside another, or anything but whitespace between two items."""
    spans = [(m.start(), m.end()) for m in _ITEM.finditer(body)]
    if not spans:
        return None
    for (_, end), (start, _) in itertools.pairwise(spans):
        if body[end:start].strip():
            return None
    items = tuple(body[start:end] for start, end in spans)
    if any(_NESTED.search(_CDATA.sub(b"", item), 1) for item in items):
        return None
    head, tail = body[: spans[0][0]], body[spans[-1][1] :]
    if head.rfind(b"<![CDATA[") > head.rfind(b"]]>"):  # the first "item" is text in a CDATA
        return None
    return ItemSplit(head, items, tail, scan_fingerprint(head + b"\0" + tail, content_type))
