"""From a parsed entry to the :class:`Article` rules look at: its language and its source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from monitor.base.types import ParsedEntry
from monitor.stages.facts import detected_language_of
from monitor.stages.rules import Article
from monitor.stages.rules.language import LanguageDecision, decide_language


def resolve_language(
    entry: ParsedEntry, configured: str | None = None, default: str | None = None
) -> LanguageDecision:
    """The article's language: the feed's configured one; else what the feed or entry
    declares unless its text clearly says otherwise; else what the text says; else the
    configured default (None: no stemming). ``entry.language`` is the declared one."""
    return decide_language(detected_language_of(entry), entry.language, configured, default)


def with_language(entry: ParsedEntry, decision: LanguageDecision) -> ParsedEntry:
    """``entry`` carrying the language it is matched in, and what it was decided from."""
    return replace(
        entry,
        language=decision.used,
        declared_language=decision.declared,
        detected_language=decision.detected,
    )


def domain(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def article_from_entry(
    entry: ParsedEntry, *, feed: str = "", feed_url: str | None = None, tags: Sequence[str] = ()
) -> Article:
    """The matcher's view of an entry whose ``language`` was already resolved."""
    domains = tuple(dict.fromkeys(d for d in (domain(feed_url), domain(entry.link)) if d))
    return Article(
        title=entry.title,
        summary=entry.summary,
        content=entry.content,
        url=entry.link or "",
        language=entry.language,
        feed=feed,
        tags=tuple(tags),
        domains=domains,
    )
