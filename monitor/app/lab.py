"""The rule lab's engine, shared by ``newsmon test-rules --stored`` and the dashboard: a query
compiled with the config's groups and word settings, and a stored article seen as the matcher
sees a polled one (its feed's language, label and tags from the config)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.base.settings import FeedSpec, Settings
from monitor.base.types import ParsedEntry
from monitor.stages.articles import article_from_entry, resolve_language, with_language
from monitor.stages.rules import Article, QueryError, RuleDefinition, RuleSet, parse_query
from monitor.stages.rules.nodes import Node
from monitor.stages.rules.overrides import WordOverrides


def query_rules(query: str, groups: Mapping[str, str], overrides: WordOverrides) -> RuleSet:
    """``query`` as the one rule ``query``; raises :class:`QueryError` where it is wrong."""

    def resolve(name: str, offset: int) -> Node:
        if name not in groups:
            raise QueryError(f"unknown group @{name}", offset)
        return parse_query(groups[name], resolve, check=False)

    tree = parse_query(query, resolve)
    return RuleSet.build([RuleDefinition("query", tree)], overrides)


def stored_article(
    row: Any,
    settings: Settings,
    lang: str | None = None,
    by_url: Mapping[str, FeedSpec] | None = None,
) -> tuple[ParsedEntry, Article, str]:
    """The entry, the matcher's article and the language note of a stored article row;
    ``by_url`` is ``settings.feeds_by_url``, built once by a caller that scans many rows."""
    spec = (settings.feeds_by_url if by_url is None else by_url).get(row.feed_url)
    entry = ParsedEntry(
        None,
        row.url,
        row.title,
        row.summary,
        row.content,
        row.published_at,
        language=row.language,
    )
    configured = lang or (spec.language if spec else None)
    decision = resolve_language(entry, configured, settings.defaults.language)
    entry = with_language(entry, decision)
    label = spec.label if spec else (row.feed_name or row.feed_url)
    article = article_from_entry(
        entry, feed=label, feed_url=row.feed_url, tags=spec.tags if spec else ()
    )
    note = (
        f"[language: {decision.describe()}]"
        if entry.language
        else "[language: unknown, no stemming]"
    )
    return entry, article, note
