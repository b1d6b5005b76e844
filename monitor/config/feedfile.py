"""Adding feeds to a YAML file the user keeps by hand, without losing a comment.

ruamel.yaml's round-trip mode keeps the file's comments, order, quoting and indentation (as
guessed from the file); new feeds go at the end of its ``feeds:`` list, tags as a flow list
(``tags: [news, world]``) as the shipped config writes them. The file is replaced atomically,
and put back as it was if the config no longer loads with it.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from monitor.base.errors import ConfigError, MonitorError


class FeedFileError(MonitorError):
    """The feeds file cannot take the new feeds (unreadable, not a mapping, not valid after)."""


@dataclass(frozen=True)
class NewFeed:
    url: str
    name: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def feed_files(files: Sequence[Path]) -> list[Path]:
    """Of the config's files (the main one first), those with a top-level ``feeds:``."""
    found = []
    for path in files:
        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        except (OSError, YAMLError):
            continue
        if isinstance(data, dict) and "feeds" in data:
            found.append(path)
    return found


def add_feeds(path: Path, feeds: Sequence[NewFeed], check: Callable[[], object]) -> None:
    """Append ``feeds`` to ``path``'s ``feeds:`` list; ``check()`` must then load the config
    (it raises ConfigError otherwise, and the file is put back as it was)."""
    try:
        original = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FeedFileError(f"{path}: {e.strerror or e}") from e
    updated = _with_feeds(path, original, feeds)
    _replace(path, updated)
    try:
        check()
    except ConfigError:
        _replace(path, original)
        raise


def _with_feeds(path: Path, text: str, feeds: Sequence[NewFeed]) -> str:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long URL
    try:
        doc, indent, offset = load_yaml_guess_indent(text) if text.strip() else (None, 2, 0)
    except YAMLError as e:
        raise FeedFileError(f"{path}: not valid YAML: {e}") from e
    # The guess is the sequence's indent (to its items' keys) and the dash's offset in it.
    sequence, offset = indent or 2, offset or 0
    yaml.indent(mapping=max(2, sequence - offset), sequence=sequence, offset=offset)
    doc = CommentedMap() if doc is None else yaml.load(text)
    if not isinstance(doc, dict):
        raise FeedFileError(f"{path}: the file must be a mapping to hold feeds:")
    listed = doc.get("feeds")
    if listed is None:
        listed = doc["feeds"] = CommentedSeq()
    if not isinstance(listed, list):
        raise FeedFileError(f"{path}: feeds: must be a list")
    for feed in feeds:
        listed.append(_item(feed))
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _item(feed: NewFeed) -> CommentedMap:
    item = CommentedMap(url=feed.url)
    if feed.name:
        item["name"] = feed.name
    if feed.tags:
        tags = CommentedSeq(feed.tags)
        tags.fa.set_flow_style()
        item["tags"] = tags
    return item


def _replace(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, path.stat().st_mode & 0o7777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
