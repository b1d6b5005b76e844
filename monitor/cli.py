"""The ``newsmon`` command. Exit codes: 0 ok, 1 a problem was found, 2 usage error."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.config import LoadedConfig, load_config
from monitor.errors import ConfigError, EndpointError, MonitorError, Problem, StoreError
from monitor.log import configure_logging
from monitor.rules import snippet
from monitor.types import MALFORMED

DEFAULT_CONFIG = "config/newsmon.yaml"

OK, PROBLEM, USAGE = 0, 1, 2
MAX_SHOWN_HITS = 8


def _default_config() -> str:
    return os.environ.get("NEWSMON_CONFIG") or DEFAULT_CONFIG


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=_json_default))


def _problem_dict(problem: Problem) -> dict[str, Any]:
    where = problem.position
    return {
        "file": where.file if where else None,
        "line": where.line if where else None,
        "col": where.col if where else None,
        "severity": problem.severity,
        "message": problem.message,
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _load(args: argparse.Namespace) -> LoadedConfig | None:
    """The config, or None after printing every problem (the caller exits 1)."""
    try:
        loaded = load_config(args.config)
    except ConfigError as e:
        if args.json:
            _print_json({"ok": False, "problems": [_problem_dict(p) for p in e.problems]})
        else:
            for problem in e.problems:
                print(problem, file=sys.stderr if args.command != "check" else sys.stdout)
        return None
    return loaded


# --- check -------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    settings = loaded.settings
    if args.json:
        _print_json(
            {
                "ok": True,
                "feeds": len(settings.feeds),
                "rules": len(settings.rules),
                "sinks": len(settings.sinks),
                "problems": [_problem_dict(p) for p in loaded.warnings],
            }
        )
    else:
        for warning in loaded.warnings:
            print(warning)
        counts = ", ".join(
            _plural(n, word)
            for n, word in (
                (len(settings.feeds), "feed"),
                (len(settings.rules), "rule"),
                (len(settings.sinks), "sink"),
            )
        )
        print(f"{args.config}: OK ({counts})")
    return OK


# --- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    configure_logging(json=None, level=args.log_level)
    try:
        if args.once:
            return asyncio.run(_run_once(loaded, args))
        return asyncio.run(_run_daemon(loaded, Path(args.config)))
    except (StoreError, EndpointError) as e:
        print(f"newsmon: {e}", file=sys.stderr)
        return PROBLEM


async def _run_once(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from monitor.daemon import Daemon

    async with Daemon(loaded) as daemon:
        summary = await daemon.run_once()
    if args.json:
        _print_json(
            {
                "feeds": dict(summary.feeds),
                "new": summary.new,
                "alerts": summary.alerts,
                "deliveries": dict(summary.deliveries),
                "crashed": summary.crashed,
                "failing": summary.failing,
            }
        )
    return OK if summary.ok else PROBLEM


async def _run_daemon(loaded: LoadedConfig, config_path: Path) -> int:
    from monitor.daemon import Daemon

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None

    def interrupt() -> None:
        if stop.is_set():  # a second Ctrl+C: stop waiting for running work
            main.cancel("forced exit")
        stop.set()

    async with Daemon(loaded, config_path=config_path) as daemon:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, interrupt)
        reloads: set[asyncio.Task[bool]] = set()

        def reload() -> None:
            task = loop.create_task(daemon.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload)
        try:
            await daemon.run(stop)
        except asyncio.CancelledError:
            return 130
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
    return OK


# --- feeds and alerts --------------------------------------------------------------------------


async def _with_store(loaded: LoadedConfig, action: Callable[[Any], Any]) -> Any:
    from monitor.daemon import utcnow
    from monitor.store import Store

    store = await Store.open(loaded.settings.state, utcnow)
    try:
        return await action(store)
    finally:
        await store.close()


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _feed_state(row: dict[str, Any]) -> str:
    if not row["active"]:
        return "removed"
    if row["disabled_at"]:
        return "disabled"
    if row["failing_since"]:
        return "failing"
    if row["last_error_kind"] == MALFORMED:
        return "warning"  # read, but not as served: see its last_error
    return str(row["last_status"] or "never polled")


def cmd_feeds(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    if args.action == "enable":
        enabled = asyncio.run(_with_store(loaded, lambda store: store.enable_feed(args.url)))
        if not enabled:
            print(f"no disabled feed with URL {args.url}", file=sys.stderr)
            return PROBLEM
        print(f"{args.url}: enabled, polled at the next tick")
        return OK
    rows = asyncio.run(_with_store(loaded, lambda store: store.list_feeds()))
    for row in rows:
        row["state"] = _feed_state(row)
    if args.json:
        for row in rows:
            _print_json(row)
        return OK
    for row in rows:
        _print_feed(row)
    states = Counter(row["state"] for row in rows)
    summary = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    print(f"{_plural(len(rows), 'feed')}: {summary}" if rows else "no feeds yet")
    return OK


def _print_feed(row: dict[str, Any]) -> None:
    print(
        f"{row['url']}\n  {row['name'] or row['title'] or ''}  status={row['state']}  "
        f"last_success={_when(row['last_success_at'])}  "
        f"failures={row['consecutive_failures']}  next={_when(row['next_poll_at'])}  "
        f"entries={row['entries']}"
    )
    if row["effective_url"]:
        why = {"moved": "it moved permanently", "discovered": "the URL is a page linking to it"}
        reason = why.get(row["effective_url_source"], row["effective_url_source"])
        print(f"  fetched from {row['effective_url']} ({reason}; the config URL stays its name)")
    if row["disabled_at"]:
        print(f"  disabled {_when(row['disabled_at'])}: {row['disabled_reason']}")
        print(f"  to poll it again: newsmon feeds enable {row['url']}")
    elif row["failing_since"]:
        print(f"  failing since {_when(row['failing_since'])}; still retried")
    if row["last_error"] and not row["disabled_at"]:
        label = "warning" if row["last_error_kind"] == MALFORMED else "error"
        print(f"  {label} ({row['last_error_kind'] or 'error'}): {row['last_error']}")
    if row["identity"] != "guid":
        how = {"link": "links (its GUIDs repeat or change)", "hash": "text (its links repeat)"}
        print(f"  entries told apart by their {how.get(row['identity'], row['identity'])}")


# --- discover ----------------------------------------------------------------------------------


def cmd_discover(args: argparse.Namespace) -> int:
    from monitor.config.schema import Settings

    settings = Settings()
    if Path(args.config).exists():
        loaded = _load(args)
        if loaded is None:
            return PROBLEM
        settings = loaded.settings
    report = asyncio.run(_discover(args.url, settings, args.allow_private))
    if args.json:
        _print_json(report)
    else:
        _print_discovery(report)
    return OK if report["feeds"] else PROBLEM


async def _discover(url: str, settings: Any, allow_private: bool) -> dict[str, Any]:
    """What ``url`` is: a feed, or a page and the feeds it links to (each one tried)."""
    from monitor.discover import find_feed_links
    from monitor.errors import NotAFeed, UpdateError
    from monitor.fetch import Fetcher, make_session
    from monitor.parse import parse_feed

    defaults = settings.defaults
    session = make_session(concurrency=4, per_host=2, user_agent=defaults.user_agent)
    fetcher = Fetcher(session, defaults.max_body)

    async def read(target: str) -> tuple[dict[str, Any], list[Any]]:
        """A report on ``target``, and the feed links if it is an HTML page."""
        try:
            fetched = await fetcher.fetch(
                target,
                etag=None,
                last_modified=None,
                deadline=defaults.timeout,
                allow_private=allow_private or defaults.allow_private,
            )
            assert fetched.body is not None
            feed = parse_feed(fetched.body, fetched.url, fetched.headers)
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
    print(f"{url} is an HTML page; it links to {_plural(len(report['feeds']), 'feed')}:")
    for feed in report["feeds"]:
        title = f"  {feed['title']!r}" if feed.get("title") else ""
        state = f"{feed['entries']} entries" if "entries" in feed else f"error: {feed['error']}"
        print(f"  {feed['url']}  ({feed['type']}){title}  {state}")


def cmd_alerts(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    if args.action == "replay":
        replayed = asyncio.run(_with_store(loaded, lambda store: store.replay_alert(args.id)))
        if not replayed:
            print(f"no dead alert with id {args.id}", file=sys.stderr)
            return PROBLEM
        print(f"{args.id}: queued for delivery")
        return OK
    rows = asyncio.run(
        _with_store(
            loaded,
            lambda store: store.list_alerts(state=args.status, limit=args.limit, sink=args.sink),
        )
    )
    digest_sinks = {n for n, spec in loaded.settings.sinks.items() if spec.digest is not None}
    for row in rows:
        if args.json:
            _print_json(row)
            continue
        state = row["state"]
        if state == "pending" and row["kind"] != "digest" and row["sink"] in digest_sinks:
            state = "pending (waiting for the digest)"
        title = row["title"] if row["kind"] != "digest" else "digest"
        print(
            f"{row['id']}  {state:<9}  {row['sink']}  {row['rule_id']}  "
            f"attempts={row['attempts']}  created={_when(row['created_at'])}\n  {title}"
        )
        if row["state"] == "pending" and row["attempts"]:
            print(f"  next attempt: {_when(row['next_attempt_at'])}")
        if row["digest_id"]:
            print(f"  in digest {row['digest_id']}")
        if row["last_error"]:
            print(f"  last error: {row['last_error']}")
        if row["also_reported_by"]:
            others = ", ".join(r["feed"] for r in row["also_reported_by"])
            print(f"  also reported by: {others}")
    return OK


def cmd_prune(args: argparse.Namespace) -> int:
    from monitor.daemon import prune

    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    counts = asyncio.run(_with_store(loaded, lambda store: prune(store, loaded.settings)))
    if args.json:
        _print_json(counts)
    else:
        print("  ".join(f"{name}={n}" for name, n in counts.items()))
    return OK


# --- test-rules --------------------------------------------------------------------------------


def cmd_test_rules(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    return asyncio.run(_test_rules(loaded, args))


async def _test_rules(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from monitor.articles import article_from_entry, resolve_language
    from monitor.rules.explain import explain_rule, format_explanation
    from monitor.sources import entries_from, read_source

    rules = loaded.rules
    definitions = {rule.id: rule.definition for rule in rules.rules}
    if args.explain and not args.json:
        for definition in definitions.values():
            print("\n".join(format_explanation(definition)))
        print()
    code = OK
    for name in args.sources:
        try:
            allow_private = args.allow_private or loaded.settings.defaults.allow_private
            entries = entries_from(await read_source(name, allow_private=allow_private))
        except MonitorError as e:
            print(f"newsmon: {e}", file=sys.stderr)
            code = PROBLEM
            continue
        for entry in entries:
            language = resolve_language(entry, args.lang, loaded.settings.defaults.language)
            entry = replace(entry, language=language)
            article = article_from_entry(entry, feed=name)
            found = rules.match(article)
            if args.json:
                matches = []
                for match in found:
                    item: dict[str, Any] = {
                        "rule": match.rule_id,
                        "hits": [h.to_dict() for h in match.hits],
                    }
                    if args.explain:
                        item["explain"] = explain_rule(definitions[match.rule_id])
                    matches.append(item)
                _print_json(
                    {
                        "title": entry.title,
                        "url": entry.link,
                        "language": language,
                        "matches": matches,
                    }
                )
                continue
            print(f"== {entry.title or '(untitled)'}")
            print(f"   {entry.link or name}  [language: {language or 'unknown, no stemming'}]")
            if not found:
                print("   no rule matched")
            for match in found:
                print(f"   {match.rule_id}")
                if len(match.hits) > MAX_SHOWN_HITS:
                    print(f"     ({len(match.hits)} hits; the first {MAX_SHOWN_HITS} shown)")
                for hit in match.hits[:MAX_SHOWN_HITS]:
                    quote = snippet(article.field(hit.field), hit.start, hit.end, 40)
                    print(
                        f"     {hit.field:<8} {hit.text!r} {hit.start}-{hit.end} "
                        f"<- {hit.term} ({hit.how})  {quote}"
                    )
            print()
    return code


def cmd_sinks(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if loaded is None:
        return PROBLEM
    if args.action == "enable":
        if args.name not in loaded.settings.sinks:
            print(f"no sink {args.name!r} in {args.config}", file=sys.stderr)
            return PROBLEM
        enabled = asyncio.run(_with_store(loaded, lambda store: store.enable_sink(args.name)))
        print(f"{args.name}: {'enabled' if enabled else 'was not disabled'}")
        return OK
    stored = {row["name"]: row for row in asyncio.run(_with_store(loaded, _list_sinks))}
    for name, spec in loaded.settings.sinks.items():
        row = stored.get(name, {})
        counts = row.get("alerts", {})
        report = {
            "name": name,
            "type": spec.type,
            "state": "disabled" if row.get("disabled_at") else "enabled",
            "disabled_at": row.get("disabled_at"),
            "disabled_reason": row.get("disabled_reason"),
            "digest": spec.digest,
            "timezone": loaded.settings.timezone(spec) if spec.digest else None,
            "last_digest_at": row.get("last_digest_at") if spec.digest else None,
            "rate": spec.rate,
            "alerts": counts,
        }
        if args.json:
            _print_json(report)
            continue
        tally = "  ".join(f"{state}={n}" for state, n in sorted(counts.items())) or "no alerts"
        print(f"{name}  {spec.type}  {report['state']}  {tally}")
        if spec.digest:
            print(
                f"  digest: {spec.digest} ({report['timezone']}), "
                f"last cut {_when(report['last_digest_at'])}"
            )
        if report["disabled_at"]:
            print(f"  disabled {_when(report['disabled_at'])}: {report['disabled_reason']}")
            print(f"  fix the sink, then: newsmon sinks enable {name}")
    return OK


async def _list_sinks(store: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await store.list_sinks()
    return rows


# --- demo --------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor.demo import run_demo

    configure_logging(json=False, level="warning")
    return asyncio.run(run_demo())


# --- parser ------------------------------------------------------------------------------------


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options every command takes; on subcommands they default to "not given" so that
    ``newsmon --config x run`` and ``newsmon run --config x`` both work."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=default(_default_config()),
        metavar="PATH",
        help="config file (default: $NEWSMON_CONFIG, else config/newsmon.yaml)",
    )
    common.add_argument(
        "--json", action="store_true", default=default(False), help="machine-readable output"
    )
    common.add_argument(
        "--log-level", default=default("info"), choices=["debug", "info", "warning", "error"]
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog="newsmon",
        parents=[_common_options(suppress=False)],
        description="Monitor news feeds and alert on watch rules.",
    )
    parser.add_argument("--version", action="version", version=f"newsmon {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument("--once", action="store_true", help="poll every feed once, deliver, exit")
    run.set_defaults(func=cmd_run)

    check = commands.add_parser("check", parents=[common], help="validate the config and rules")
    check.set_defaults(func=cmd_check)

    feeds = commands.add_parser("feeds", parents=[common], help="feed status")
    feeds.set_defaults(func=cmd_feeds)
    feed_actions = feeds.add_subparsers(dest="action", metavar="ACTION")
    enable = feed_actions.add_parser(
        "enable", parents=[common], help="poll a feed disabled by 410 Gone again"
    )
    enable.add_argument("url")

    discover = commands.add_parser(
        "discover", parents=[common], help="find the feeds a site or article URL links to"
    )
    discover.add_argument("url")
    discover.add_argument(
        "--allow-private", action="store_true", help="allow loopback and private addresses"
    )
    discover.set_defaults(func=cmd_discover)

    alerts = commands.add_parser("alerts", parents=[common], help="recent alerts; replay dead ones")
    alerts.add_argument("--status", choices=["pending", "delivered", "dead", "digested"])
    alerts.add_argument("--sink", metavar="NAME", help="only this sink's alerts")
    alerts.add_argument("--limit", type=int, default=50)
    alerts.set_defaults(func=cmd_alerts)
    actions = alerts.add_subparsers(dest="action", metavar="ACTION")
    replay = actions.add_parser("replay", parents=[common], help="re-queue a dead alert")
    replay.add_argument("id")

    prune = commands.add_parser(
        "prune", parents=[common], help="apply defaults.retention now (the daemon does it daily)"
    )
    prune.set_defaults(func=cmd_prune)

    test_rules = commands.add_parser(
        "test-rules", parents=[common], help="match the rules against feeds, pages or text files"
    )
    test_rules.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a feed file, a feed URL, an HTML or text article file, or -",
    )
    test_rules.add_argument(
        "--explain", action="store_true", help="show how each rule term is normalised and stemmed"
    )
    test_rules.add_argument("--lang", help="the articles' language when the source does not say")
    test_rules.add_argument(
        "--allow-private",
        action="store_true",
        help="let a URL source be on loopback or a private network",
    )
    test_rules.set_defaults(func=cmd_test_rules)
    sinks = commands.add_parser(
        "sinks", parents=[common], help="sink state (disabled by a 410?) and alert counts"
    )
    sinks.set_defaults(func=cmd_sinks)
    sink_actions = sinks.add_subparsers(dest="action", metavar="ACTION")
    enable = sink_actions.add_parser(
        "enable", parents=[common], help="deliver to a disabled sink again"
    )
    enable.add_argument("name")

    demo = commands.add_parser(
        "demo", parents=[common], help="see an alert end to end, offline, in a few seconds"
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except MonitorError as e:
        print(f"newsmon: {e}", file=sys.stderr)
        return PROBLEM
    except KeyboardInterrupt:
        return 130
    return code
