"""``newsmon feeds``: each feed's state; ``feeds enable URL``; ``newsmon discover URL``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from monitor.base.settings import FeedPolicy, FeedSpec, Settings
from monitor.base.types import MALFORMED
from monitor.cli import opml
from monitor.cli.common import OK, PROBLEM, USAGE, load, plural, print_json, when, with_store
from monitor.cli.render import Column, print_lines, print_table

PAGE = 50  # feeds a page of `newsmon feeds` shows: 100,000 rows are no table


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    feeds = commands.add_parser("feeds", parents=[common], help="feed status")
    feeds.add_argument(
        "--limit", type=int, default=PAGE, metavar="N", help=f"feeds per page (default {PAGE})"
    )
    feeds.add_argument("--page", type=int, default=1, metavar="P", help="which page (from 1)")
    feeds.add_argument("--all", action="store_true", help="every feed, however many")
    feeds.set_defaults(func=cmd_feeds)
    feed_actions = feeds.add_subparsers(dest="action", metavar="ACTION")
    enable = feed_actions.add_parser(
        "enable", parents=[common], help="poll a feed disabled by 410 Gone again"
    )
    enable.add_argument("url")
    opml.register(feed_actions, common)

    discover = commands.add_parser(
        "discover", parents=[common], help="find the feeds a site or article URL links to"
    )
    discover.add_argument("url")
    discover.add_argument(
        "--allow-private", action="store_true", help="allow loopback and private addresses"
    )
    discover.set_defaults(func=cmd_discover)


def cmd_feeds(args: argparse.Namespace) -> int:
    handled = opml.dispatch(args)
    if handled is not None:
        return handled
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    if args.action == "enable":
        enabled = asyncio.run(with_store(loaded, lambda store: store.enable_feed(args.url)))
        if not enabled:
            print(f"no disabled feed with URL {args.url}", file=sys.stderr)
            return PROBLEM
        print(f"{args.url}: enabled, polled at the next tick")
        return OK
    if args.limit < 1 or args.page < 1:
        print("newsmon feeds: --limit and --page start at 1", file=sys.stderr)
        return USAGE
    limit = None if getattr(args, "all", False) else args.limit
    offset = 0 if limit is None else (args.page - 1) * limit

    async def read(store: Any) -> tuple[list[dict[str, Any]], dict[Any, int]]:
        return await _feeds_with_pages(store, limit, offset), await store.feed_states()

    rows, states = asyncio.run(with_store(loaded, read))
    if args.json:
        for row in rows:
            print_json(row)
        return OK
    print_feeds(rows, states, offset)
    return OK


async def _feeds_with_pages(store: Any, limit: int | None, offset: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await store.list_feeds(limit, offset)
    counts = await store.page_counts([row["url"] for row in rows])
    for row in rows:
        row["pages"] = counts.get(row["url"], {})
    return rows


def page_note(pages: dict[str, int]) -> str | None:
    """What the feed's article pages came to: ``pages: 5 read, 2 fell back (1 robots, ...)``."""
    if not pages:
        return None
    parts = [f"{pages.get('done', 0)} read"]
    if pages.get("fallback"):
        kinds = sorted(
            (k.split(":", 1)[1], n) for k, n in pages.items() if k.startswith("fallback:")
        )
        why = ", ".join(f"{n} {kind}" for kind, n in kinds)
        parts.append(f"{pages['fallback']} fell back ({why})")
    if pages.get("owed"):
        parts.append(f"{pages['owed']} owed")
    return "  article pages: " + ", ".join(parts)


FEED_COLUMNS = (
    Column("STATE", state=True),
    Column("NAME", flex=True),
    Column("URL", url=True),
    Column("LAST OK", time=True),
    Column("FAILS", right=True),
    Column("NEXT", time=True),
    Column("ENTRIES", right=True),
)


def print_feeds(
    rows: list[dict[str, Any]], states: dict[Any, int] | None = None, offset: int = 0
) -> None:
    """A page of feeds as a table, then what needs saying about some of them, then a tally of
    them all (and how to see the next page)."""
    states = states if states is not None else Counter(row["state"] for row in rows)
    total = sum(states.values())
    if not rows:
        print("no feeds yet" if not total else f"no feeds on this page (there are {total})")
        return
    print_table(
        FEED_COLUMNS,
        [
            (
                row["state"],
                row["name"] or row["title"] or "",
                row["url"],
                row["last_success_at"],
                row["consecutive_failures"],
                row["next_poll_at"],
                row["entries"],
            )
            for row in rows
        ],
    )
    notes = [line for row in rows for line in _feed_notes(row)]
    if notes:
        print_lines(["", *notes])
    summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    lines = ["", f"{plural(total, 'feed')}: {summary}"]
    if len(rows) < total:
        page = offset // len(rows) + 1 if offset % len(rows) == 0 else None
        more = f"; --page {page + 1} for more" if page and offset + len(rows) < total else ""
        lines.append(f"shown: {offset + 1}-{offset + len(rows)}{more}; --all for every feed")
    print_lines(lines)


def _feed_notes(row: dict[str, Any]) -> list[str]:
    """The lines that explain a feed's state, under its URL; none for a feed without news."""
    notes = []
    if row["effective_url"]:
        why = {"moved": "it moved permanently", "discovered": "the URL is a page linking to it"}
        reason = why.get(row["effective_url_source"], row["effective_url_source"])
        notes.append(
            f"  fetched from {row['effective_url']} ({reason}; the config URL stays its name)"
        )
    if row["disabled_at"]:
        notes.append(f"  disabled {when(row['disabled_at'])}: {row['disabled_reason']}")
        notes.append(f"  to poll it again: newsmon feeds enable {row['url']}")
    elif row["failing_since"]:
        notes.append(f"  failing since {when(row['failing_since'])}; still retried")
    if row["last_error"] and not row["disabled_at"]:
        label = "warning" if row["last_error_kind"] == MALFORMED else "error"
        notes.append(f"  {label} ({row['last_error_kind'] or 'error'}): {row['last_error']}")
    if (note := page_note(row.get("pages") or {})) is not None:
        notes.append(note)
    if row["identity"] != "guid":
        how = {"link": "links (its GUIDs repeat or change)", "hash": "text (its links repeat)"}
        notes.append(f"  entries told apart by their {how.get(row['identity'], row['identity'])}")
    return [row["url"], *notes] if notes else []


def cmd_discover(args: argparse.Namespace) -> int:
    settings = Settings()
    if Path(args.config).exists():
        loaded = load(args)
        if loaded is None:
            return PROBLEM
        settings = loaded.settings
    report = asyncio.run(discover_feeds(args.url, settings, args.allow_private))
    if args.json:
        print_json(report)
    else:
        _print_discovery(report)
    return OK if report["feeds"] else PROBLEM


async def discover_feeds(url: str, settings: Settings, allow_private: bool) -> dict[str, Any]:
    """What ``url`` is: a feed, or a page and the feeds it links to (each one tried), read as
    the pipeline reads a feed."""
    from monitor.base.errors import NotAFeed, UpdateError
    from monitor.flow.reader import FeedReader
    from monitor.stages.discover import find_feed_links
    from monitor.stages.fetch import Fetcher, make_session
    from monitor.stages.proxy import proxy_routes

    defaults = settings.defaults
    session = make_session(concurrency=4, per_host=2, user_agent=defaults.user_agent)
    reader = FeedReader(Fetcher(session, defaults.max_body, proxies=proxy_routes(defaults)))

    async def read(target: str) -> tuple[dict[str, Any], list[Any]]:
        """A report on ``target``, and the feed links if it is an HTML page."""
        policy = FeedPolicy.resolve(settings, FeedSpec(url=target))
        policy = replace(policy, allow_private=allow_private or policy.allow_private)
        try:
            fetched = await reader.fetch(target, policy)
            feed = await reader.parse(fetched, policy)
        except NotAFeed as e:
            links = find_feed_links(fetched.body or b"", fetched.url) if e.links else []
            return {"url": target, "error": e.message}, links
        except UpdateError as e:
            return {"url": target, "error": e.message}, []
        return {"url": target, "title": feed.title, "entries": len(feed.entries)}, []

    try:
        first, links = await read(url)
        report: dict[str, Any] = {"url": url, "is_feed": "entries" in first, "feeds": []}
        if "entries" in first:
            report["feeds"].append(first)
        elif not links:
            report["error"] = first["error"]
        for link in links:
            found, _ = await read(link.url)
            report["feeds"].append(
                {"type": link.type, **found, "title": found.get("title") or link.title}
            )
        return report
    finally:
        await session.close()


def _print_discovery(report: dict[str, Any]) -> None:
    url = report["url"]
    if report["is_feed"]:
        [feed] = report["feeds"]
        print(f"{url} is a feed: {feed['title'] or '(untitled)'}, {feed['entries']} entries")
        return
    if "error" in report:
        print(f"{url}: {report['error']}")
        return
    print(f"{url} is an HTML page; it links to {plural(len(report['feeds']), 'feed')}:")
    for feed in report["feeds"]:
        title = f"  {feed['title']!r}" if feed.get("title") else ""
        state = f"{feed['entries']} entries" if "entries" in feed else f"error: {feed['error']}"
        print(f"  {feed['url']}  ({feed['type']}){title}  {state}")
