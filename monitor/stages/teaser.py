"""Whether a feed's text for an entry is only a teaser of the article: the full-text stage's
first decision. Pure.

Measured on the feed shapes in ``tests/data/teasers/`` (Antara, Detik, Kompas, Tempo, CNN
Indonesia, WordPress excerpts, a wire service, and full-content feeds such as the seed feed):

- a teaser says so at its end: an ellipsis (``...``, ``…``, ``[…]``) or a "read more" tail
  (``Baca selengkapnya``, ``Selengkapnya``, ``Read more``, ``Continue reading``), once
  WordPress's sign-off ("The post … appeared first on …") is set aside;
- otherwise a teaser is short: the teasers measured were 12 to 60 words, the articles 199 to
  224, and the short items of full-content feeds (one-sentence briefs of 13 to 18 words) carry
  a ``content:encoded`` of their own;
- an entry with a body of its own (content, not only a summary) is the article, unless it says
  it is a teaser, and so is a short entry of a document whose other entries carry whole articles
  (a feed that carries full text carries it for its briefs too).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.base.types import ParsedEntry

# Fewer words than this, with no body of its own, is a teaser; the longest teaser measured had
# 60 words and the shortest article 199.
TEASER_WORDS = 80
# A document entry with this many words in its body means the feed carries whole articles.
ARTICLE_WORDS = 150

_TAIL = re.compile(
    r"(?:\.\.\.|…|\[\s*(?:…|\.\.\.)\s*\]|\(\s*…\s*\))\s*\W{0,3}$"
    r"|(?:baca\s+(?:selengkapnya|lebih\s+lanjut|juga)|selengkapnya|read\s+more|read\s+the\s+full"
    r"|continue\s+reading|full\s+story|more\s*»)\W{0,12}\s*$",
    re.IGNORECASE,
)
# WordPress signs every item off so, whole articles and excerpts alike: it says nothing.
_SIGN_OFF = re.compile(r"\s*the\s+post\s+.{1,300}?\s+appeared\s+first\s+on\s+.{1,200}$", re.I)
_WORD = re.compile(r"\w+")


class FullText(enum.StrEnum):
    """A feed's ``full_text:`` setting."""

    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True)
class Verdict:
    teaser: bool
    reason: str


def words(text: str) -> int:
    return len(_WORD.findall(text))


def _tail(text: str) -> str:
    tail = text.rstrip()[-800:]
    return _SIGN_OFF.sub("", tail)[-400:]


def carries_articles(entries: Sequence[ParsedEntry]) -> bool:
    """Whether the document's entries carry whole articles (one untruncated long body does)."""
    return any(
        words(e.content) >= ARTICLE_WORDS and not _TAIL.search(_tail(e.content)) for e in entries
    )


def judge(entry: ParsedEntry, *, feed_carries_articles: bool = False) -> Verdict:
    """Whether ``entry``'s text in the feed is a teaser, and why."""
    body = entry.content.strip()
    summary = entry.summary.strip()
    text = body if len(body) >= len(summary) else summary
    if not text:
        return Verdict(True, "the feed gives no text")
    if _TAIL.search(_tail(text)):
        return Verdict(True, "the text ends as a teaser does")
    if body and body != summary:
        return Verdict(False, "the feed carries a body of its own")
    if feed_carries_articles:
        return Verdict(False, "the feed carries whole articles")
    count = words(text)
    if count < TEASER_WORDS:
        return Verdict(True, f"{count} words")
    return Verdict(False, f"{count} words")


def wants_page(
    entry: ParsedEntry, mode: FullText, *, feed_carries_articles: bool = False
) -> Verdict | None:
    """Why the entry's page is fetched under ``mode``, or None when it is not."""
    if mode is FullText.NEVER or not entry.link:
        return None
    if mode is FullText.ALWAYS:
        return Verdict(True, "full_text: always")
    verdict = judge(entry, feed_carries_articles=feed_carries_articles)
    return verdict if verdict.teaser else None
