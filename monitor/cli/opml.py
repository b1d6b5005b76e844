"""OPML in and out, and ``feeds add``: moving feed lists between newsmon and other readers.

``feeds import FILE.opml`` reads an OPML file as Miniflux, FreshRSS, Inoreader, Feedly or
NetNewsWire export it (listparser reads it; nested folders and ``category`` attributes become
tags, every level of a folder path one tag), skips feeds the config has already and repeats
within the file, and appends the rest to a feeds file the config includes, keeping that file's
comments and order (:mod:`monitor.config.feedfile`). A file that is not well-formed OPML is
refused with its line and column, and nothing changes. ``feeds export`` writes OPML 2.0, one
folder per feed's first tag, every tag in ``category``. ``feeds add URL`` finds the feed
behind a page as ``discover`` does, checks it parses, and adds it the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from monitor.base.clock import utcnow
from monitor.base.errors import ConfigError, MonitorError
from monitor.base.settings import Settings
from monitor.cli.common import OK, PROBLEM, load, plural, print_json
from monitor.cli.render import progress
from monitor.config import LoadedConfig, load_config
from monitor.config.feedfile import NewFeed, add_feeds, feed_files

MAX_OPML = 20 * 1024 * 1024


class OpmlError(MonitorError):
    """An OPML file that cannot be read."""


def register(actions: Any, common: argparse.ArgumentParser) -> None:
    to = argparse.ArgumentParser(add_help=False)
    to.add_argument(
        "--to",
        metavar="FILE",
        help="the feeds file to add to (one the config includes; default: the first with feeds:)",
    )
    imp = actions.add_parser(
        "import", parents=[common, to], help="add the feeds of an OPML file (from another reader)"
    )
    imp.add_argument("file", metavar="FILE.opml")
    exp = actions.add_parser("export", parents=[common], help="write the feeds as OPML 2.0")
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    add = actions.add_parser(
        "add", parents=[common, to], help="add a feed, found behind a page as discover does"
    )
    add.add_argument("url")
    add.add_argument("--name")
    add.add_argument("--tags", default="", help="comma-separated tags")
    add.add_argument(
        "--allow-private", action="store_true", help="allow loopback and private addresses"
    )


def read_opml(path: str) -> list[NewFeed]:
    """The feeds of an OPML file, in its order, each once, its folders as tags."""
    import listparser  # this command only

    try:
        with Path(path).open("rb") as handle:
            body = handle.read(MAX_OPML)
    except OSError as e:
        raise OpmlError(f"{path}: {e.strerror or e}") from e
    try:
        root = ET.fromstring(body)  # well-formedness, with a position to show
    except ET.ParseError as e:
        line, col = e.position
        reason = str(e).split(": line ")[0]
        raise OpmlError(f"{path}:{line}:{col + 1}: not well-formed XML: {reason}") from e
    if root.tag.lower() != "opml":
        raise OpmlError(f"{path}: not an OPML file (its root element is <{root.tag}>)")
    result = listparser.parse(body)
    feeds, seen = [], set()
    for feed in result.feeds:
        url = (feed.get("url") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        tags = [tag for path_ in feed.get("categories", []) for tag in path_ if tag.strip()]
        title = (feed.get("title") or "").strip() or None
        feeds.append(NewFeed(url, title, tuple(dict.fromkeys(t.strip() for t in tags))))
    return feeds


def export_opml(settings: Settings) -> str:
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = "newsmon feeds"
    ET.SubElement(head, "dateCreated").text = format_datetime(utcnow())
    body = ET.SubElement(opml, "body")
    folders: dict[str, ET.Element] = {}
    for spec in settings.feeds:
        parent = body
        if spec.tags:
            parent = folders.get(spec.tags[0]) or ET.SubElement(body, "outline", text=spec.tags[0])
            folders[spec.tags[0]] = parent
        attributes = {"type": "rss", "text": spec.label, "title": spec.label, "xmlUrl": spec.url}
        if spec.tags:
            attributes["category"] = ",".join(f"/{tag}" for tag in spec.tags)
        ET.SubElement(parent, "outline", attributes)
    ET.indent(opml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, "unicode") + "\n"


def cmd_import(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    try:
        found = read_opml(args.file)
    except OpmlError as e:
        print(f"newsmon: {e}; nothing was changed", file=sys.stderr)
        return PROBLEM
    known = {spec.url for spec in loaded.settings.feeds}
    new = [feed for feed in found if feed.url not in known]
    with progress("importing") as report:
        if report is not None:
            report(0, len(new))
        code, target = _add(args, loaded, new)
        if report is not None:
            report(len(new), len(new))
    if code != OK:
        return code
    report_data = {
        "file": str(target),
        "added": [feed.url for feed in new],
        "skipped": [feed.url for feed in found if feed.url in known],
    }
    if args.json:
        print_json(report_data)
        return OK
    print(f"added {plural(len(new), 'feed')} to {target}; {len(found) - len(new)} already there")
    for feed in new:
        tags = f"  [{', '.join(feed.tags)}]" if feed.tags else ""
        print(f"  + {feed.url}  {feed.name or ''}{tags}".rstrip())
    return OK


def _add(args: argparse.Namespace, loaded: LoadedConfig, new: list[NewFeed]) -> tuple[int, Path]:
    """Append ``new`` to the target feeds file; the config must load afterwards."""
    target = _target(args, loaded)
    if target is None:
        return PROBLEM, Path()
    if not new:
        return OK, target
    try:
        add_feeds(target, new, lambda: load_config(args.config))
    except ConfigError as e:
        print(
            f"newsmon: the config would not load with these feeds; {target} is unchanged:",
            file=sys.stderr,
        )
        for problem in e.problems:
            print(f"  {problem}", file=sys.stderr)
        return PROBLEM, target
    return OK, target


def _target(args: argparse.Namespace, loaded: LoadedConfig) -> Path | None:
    files = list(loaded.files)
    if args.to:
        wanted = Path(args.to).resolve()
        for path in files:
            if path.resolve() == wanted:
                return path
        print(
            f"newsmon: {args.to} is not a file {args.config} reads; add it to its include: first",
            file=sys.stderr,
        )
        return None
    with_feeds = feed_files(files)
    return with_feeds[0] if with_feeds else files[0]


def cmd_export(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    text = export_opml(loaded.settings)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {plural(len(loaded.settings.feeds), 'feed')} to {args.output}")
    else:
        print(text, end="")
    return OK


def cmd_add(args: argparse.Namespace, loaded: LoadedConfig) -> int:
    from monitor.cli.feeds import discover_feeds

    known = {spec.url for spec in loaded.settings.feeds}
    report = asyncio.run(discover_feeds(args.url, loaded.settings, args.allow_private))
    readable = [feed for feed in report["feeds"] if "entries" in feed]
    if not readable:
        reason = report.get("error") or "none of the feeds it links to could be read"
        print(
            f"newsmon: {args.url}: no feed found ({reason}); nothing was changed", file=sys.stderr
        )
        return PROBLEM
    feed = readable[0]
    if feed["url"] in known:
        print(f"{feed['url']} is already in the config")
        return OK
    tags = tuple(t.strip() for t in args.tags.split(",") if t.strip())
    new = NewFeed(feed["url"], args.name or feed.get("title") or None, tags)
    code, target = _add(args, loaded, [new])
    if code != OK:
        return code
    if args.json:
        print_json({"file": str(target), "added": new.url, "name": new.name, "tags": list(tags)})
    else:
        found = "" if feed["url"] == args.url else f" (found behind {args.url})"
        print(f"added {new.url}{found} to {target}: {new.name or ''}, {feed['entries']} entries")
    return OK


def dispatch(args: argparse.Namespace) -> int | None:
    """Run the OPML and add actions of ``newsmon feeds``; None for the others."""
    handlers = {"import": cmd_import, "export": cmd_export, "add": cmd_add}
    handler = handlers.get(args.action)
    if handler is None:
        return None
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    return handler(args, loaded)
