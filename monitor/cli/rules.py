"""``newsmon test-rules``: match the rules against feeds, pages, text files or the stored news,
and say why.

``--stored 7d`` is the rule lab: the configured rules (or ``--query``, or ``--rule ID``) run over
the articles newsmon stored in that window, with a count per rule, the share of articles each
fires on, and the hits with snippets, so that a rule's noise is seen before it goes live.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from monitor.app.lab import query_rules, stored_article
from monitor.base.clock import utcnow
from monitor.base.errors import MonitorError
from monitor.base.types import ParsedEntry
from monitor.base.units import parse_duration
from monitor.cli.common import OK, PROBLEM, USAGE, load, plural, print_json, with_store
from monitor.cli.pages import page_json, print_page
from monitor.config import LoadedConfig
from monitor.stages.articles import article_from_entry, resolve_language, with_language
from monitor.stages.rules import (
    Article,
    Match,
    QueryError,
    RuleSet,
    snippet,
)

MAX_SHOWN_HITS = 8
MAX_SHOWN_ARTICLES = 10  # per rule, with --stored (--json gives them all)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    test_rules = commands.add_parser(
        "test-rules",
        parents=[common],
        help="match the rules against feeds, pages, text files or the stored news",
    )
    test_rules.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="a feed file, a feed URL, an HTML or text article file, or -",
    )
    test_rules.add_argument(
        "--stored",
        metavar="WINDOW",
        help="match the articles stored in this window (7d, 24h) instead of sources",
    )
    test_rules.add_argument("--query", help="match this query instead of the configured rules")
    test_rules.add_argument(
        "--rule", action="append", metavar="ID", help="only this configured rule (repeatable)"
    )
    test_rules.add_argument(
        "--explain",
        action="store_true",
        help="show each rule word's family: how it is built, words it finds and does not",
    )
    test_rules.add_argument(
        "--lang", help="match the articles in this language, as a feed's language: setting does"
    )
    test_rules.add_argument(
        "--full-text",
        action="store_true",
        help="read each entry's article page as the daemon would, and match its text",
    )
    test_rules.add_argument(
        "--allow-private",
        action="store_true",
        help="let a URL source be on loopback or a private network",
    )
    test_rules.set_defaults(func=cmd_test_rules)


def cmd_test_rules(args: argparse.Namespace) -> int:
    if bool(args.sources) == bool(args.stored):
        print(
            "newsmon test-rules: give SOURCE... or --stored WINDOW (one of them)", file=sys.stderr
        )
        return USAGE
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    try:
        rules = _chosen_rules(loaded, args.query, args.rule)
    except _Usage as e:
        print(f"newsmon test-rules: {e}", file=sys.stderr)
        return USAGE
    if args.stored:
        try:
            window = parse_duration(args.stored)
        except ValueError as e:
            print(f"newsmon test-rules: --stored: {e}", file=sys.stderr)
            return USAGE
        return asyncio.run(_test_stored(loaded, rules, window, args))
    return asyncio.run(_test_sources(loaded, rules, args))


class _Usage(Exception):
    pass


def _chosen_rules(loaded: LoadedConfig, query: str | None, ids: list[str] | None) -> RuleSet:
    """The configured rules, only those named by ``--rule``, or ``--query`` alone."""
    if query is not None:
        try:
            return query_rules(query, loaded.settings.groups, loaded.rules.overrides)
        except QueryError as e:
            raise _Usage(f"--query: {e.message} (at character {e.offset + 1})") from e
    if not ids:
        return loaded.rules
    known = {rule.id: rule.definition for rule in loaded.rules.rules}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise _Usage(f"--rule: no rule {unknown[0]!r} (rules: {', '.join(known) or 'none'})")
    return RuleSet.build([known[i] for i in dict.fromkeys(ids)], loaded.rules.overrides)


def _explain(rules: RuleSet, args: argparse.Namespace) -> None:
    from monitor.stages.rules.explain import format_explanation

    if args.explain and not args.json:
        for rule in rules.rules:
            print("\n".join(format_explanation(rule.definition, rules.overrides)))
        print()


def _match_json(
    match: Match, article: Article, rules: RuleSet, explain: bool, *, snippets: bool = False
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "rule": match.rule_id,
        "hits": [h.to_dict(article if snippets else None) for h in match.hits],
    }
    if explain:
        from monitor.stages.rules.explain import explain_rule

        definition = next(r.definition for r in rules.rules if r.id == match.rule_id)
        item["explain"] = explain_rule(definition, rules.overrides)
    return item


def _language_json(entry: ParsedEntry) -> dict[str, Any]:
    return {
        "language": entry.language,
        "declared_language": entry.declared_language,
        "detected_language": entry.detected_language,
    }


def _print_hits(match: Match, article: Article, indent: str) -> None:
    if len(match.hits) > MAX_SHOWN_HITS:
        print(f"{indent}({len(match.hits)} hits; the first {MAX_SHOWN_HITS} shown)")
    for hit in match.hits[:MAX_SHOWN_HITS]:
        quote = snippet(article.field(hit.field), hit.start, hit.end, 40)
        print(
            f"{indent}{hit.field:<8} {hit.text!r} {hit.start}-{hit.end} "
            f"<- {hit.term} ({hit.how})  {quote}"
        )


def _language_note(entry: ParsedEntry, decision: str) -> str:
    return f"[language: {decision}]" if entry.language else "[language: unknown, no stemming]"


# --- sources -----------------------------------------------------------------------------------


async def _test_sources(loaded: LoadedConfig, rules: RuleSet, args: argparse.Namespace) -> int:
    from monitor.cli.sources import entries_from, read_pages, read_source

    _explain(rules, args)
    code = OK
    for name in args.sources:
        allow_private = args.allow_private or loaded.settings.defaults.allow_private
        try:
            entries = entries_from(await read_source(name, allow_private=allow_private))
        except MonitorError as e:
            print(f"newsmon: {e}", file=sys.stderr)
            code = PROBLEM
            continue
        read: list[tuple[ParsedEntry, Any]] = [(entry, None) for entry in entries]
        if args.full_text:
            read = await read_pages(
                entries, loaded.settings, allow_private=allow_private, source=name
            )
        for entry, page in read:
            decision = resolve_language(entry, args.lang, loaded.settings.defaults.language)
            entry = with_language(entry, decision)
            article = article_from_entry(entry, feed=name)
            found = rules.match(article)
            if args.json:
                print_json(
                    {
                        "title": entry.title,
                        "url": entry.link,
                        **_language_json(entry),
                        **({"page": page_json(page)} if args.full_text else {}),
                        "matches": [_match_json(m, article, rules, args.explain) for m in found],
                    }
                )
                continue
            print(f"== {entry.title or '(untitled)'}")
            print(f"   {entry.link or name}  {_language_note(entry, decision.describe())}")
            if args.full_text:
                print_page(page)
            if not found:
                print("   no rule matched")
            for match in found:
                print(f"   {match.rule_id}")
                _print_hits(match, article, "     ")
            print()
    return code


# --- stored articles ---------------------------------------------------------------------------


@dataclass
class Progress:
    """``scanned 1,200 of 5,000 stored articles`` on a terminal, redrawn in place, once the
    scan has taken more than ``delay`` seconds; nothing when the stream is not a terminal."""

    stream: TextIO
    total: int
    clock: Callable[[], float] = time.monotonic
    delay: float = 0.5
    every: float = 0.2
    started: float = field(default=0.0)
    last: float = field(default=0.0)
    shown: bool = False

    def __post_init__(self) -> None:
        self.started = self.last = self.clock()

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.started < self.delay or now - self.last < self.every:
            return
        if not self.stream.isatty():
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\rscanned {done:,} of {self.total:,} stored articles")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


@dataclass
class _Tally:
    """What one rule matched over the stored articles."""

    articles: int = 0
    shown: list[tuple[ParsedEntry, Article, Match, str]] = field(default_factory=list)


async def _test_stored(
    loaded: LoadedConfig, rules: RuleSet, window: float, args: argparse.Namespace
) -> int:
    _explain(rules, args)
    since = utcnow() - timedelta(seconds=window)
    settings = loaded.settings
    tallies = {rule.id: _Tally() for rule in rules.rules}
    by_url = settings.feeds_by_url
    scanned = 0

    async def scan(store: Any) -> int:
        nonlocal scanned
        total: int = await store.count_stored_articles(since)
        progress = Progress(sys.stderr, total)
        try:
            async for batch in store.stored_articles(since):
                for row in batch:
                    _match_stored(row, rules, settings, by_url, tallies, args)
                    scanned += 1
                    progress.update(scanned)
                await asyncio.sleep(0)
        finally:
            progress.close()
        return total

    try:
        await with_store(loaded, scan)
    except MonitorError as e:
        print(f"newsmon: {e}", file=sys.stderr)
        return PROBLEM
    if args.json:
        summary = [
            {
                "rule": rule_id,
                "articles": tally.articles,
                "share": round(tally.articles / scanned, 4) if scanned else 0.0,
            }
            for rule_id, tally in tallies.items()
        ]
        report = {"since": since, "window": args.stored, "articles": scanned, "rules": summary}
        print_json({"summary": report})
        return OK
    _print_stored(since, args.stored, scanned, tallies)
    return OK


def _print_stored(since: datetime, window: str, scanned: int, tallies: dict[str, _Tally]) -> None:
    print(f"{plural(scanned, 'article')} stored since {since:%Y-%m-%d %H:%M} UTC ({window})")
    for rule_id, tally in tallies.items():
        share = tally.articles / scanned if scanned else 0.0
        print(f"\n{rule_id}: {plural(tally.articles, 'article')} ({share:.1%})")
        for entry, article, match, note in tally.shown:
            print(f"  == {entry.title or '(untitled)'}")
            print(f"     {entry.link or article.feed}  {note}")
            _print_hits(match, article, "       ")
        if tally.articles > len(tally.shown):
            more = tally.articles - len(tally.shown)
            print(f"  ... and {plural(more, 'more article')} (--json lists them all)")


def _match_stored(
    row: Any,
    rules: RuleSet,
    settings: Any,
    by_url: Any,
    tallies: dict[str, _Tally],
    args: argparse.Namespace,
) -> None:
    entry, article, note = stored_article(row, settings, args.lang, by_url)
    found = rules.match(article)
    if not found:
        return
    for match in found:
        tally = tallies[match.rule_id]
        tally.articles += 1
        if len(tally.shown) < MAX_SHOWN_ARTICLES:
            tally.shown.append((entry, article, match, note))
    if args.json:
        print_json(
            {
                "title": entry.title,
                "url": entry.link,
                "feed": article.feed,
                "published": row.published_at,
                "stored": row.first_seen_at,
                **_language_json(entry),
                "matches": [
                    _match_json(m, article, rules, args.explain, snippets=True) for m in found
                ],
            }
        )
