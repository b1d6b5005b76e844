"""A cheap look at a new body: can the full parse be skipped because no entry changed?

Most polls find nothing new (Superfeedr measured 5 % of scheduled polls with new content). A 304
or a body with the same hash needs no parse already; but many servers regenerate the feed on
every request, with no ETag, and only a ``<lastBuildDate>``, a feed-level ``<updated>`` or a
"generated in 0.02 s" comment differ. Parsing those with feedparser costs 10-30 ms of CPU each.

:func:`scan_fingerprint` is a hash of the body with exactly those volatile parts removed: XML
comments and simple date elements (``lastBuildDate``, ``pubDate``, ``updated``, ``published``,
``dc:date``...), plus the ``Content-Type`` (it decides how the bytes decode). If it equals the
fingerprint of the last parsed body, every entry's identity and text are byte-for-byte what was
decided last time, so the decision would be "nothing new, nothing updated": the parse is
skipped. Dates never make an entry new or updated (identity is GUID / link / content hash, a
revision is a change of title, summary or content), so removing them cannot hide a change that
matters. Anything else that differs, even by one byte, means a full parse.

The patterns cannot cross element boundaries (a comment or date element containing ``<`` is not
removed), so no stretch of entries can disappear into a match. A CDATA section is text, whatever
it looks like: it is kept whole (up to the end of the body if it is never closed), so a
``<date>`` or a comment written inside a description is never taken for markup.
"""

from __future__ import annotations

import hashlib
import re

_VOLATILE = re.compile(
    rb"<!--(?:(?!-->)[^<])*-->"
    rb"|<((?:[A-Za-z_][\w.-]*:)?"
    rb"(?:lastBuildDate|pubDate|updated|published|date|modified|issued|created))"
    rb"(?:\s[^<>]*)?>[^<]*</\1\s*>",
)
# A section runs to the first "]]>" (written unrolled: a lazy ".*?" is three times slower).
_CDATA = re.compile(rb"(<!\[CDATA\[[^\]]*(?:\](?!\]>)[^\]]*)*(?:\]\]>|\Z))")


def scan_fingerprint(body: bytes, content_type: str | None) -> str:
    """A hash of what in ``body`` can matter to its entries (see the module docstring)."""
    digest = hashlib.sha256((content_type or "").strip().lower().encode())
    digest.update(b"\0")
    # Split on a capturing group: text outside CDATA at even places, the sections at odd ones.
    for i, part in enumerate(_CDATA.split(body)):
        digest.update(part if i % 2 else _VOLATILE.sub(b"", part))
    return digest.hexdigest()
