"""Golden feeds: real-world shapes, written by hand after each shape's documentation (the
source is named in each file and in its expectations), parsed by the pipeline's parse step and
compared with the entries expected of them, in ``tests/data/golden/<name>.json`` beside each
``<name>.xml`` or ``<name>.json`` feed.

An expectation file holds the URL the feed is read from, its ``Content-Type``, the feed's
``title``, ``link``, ``language`` and ``publisher_interval`` (only those given are compared),
and its entries in order: ``id`` (the GUID, or null), ``link``, ``title``, ``published`` (ISO
8601, UTC, or null) and ``excerpt``, the start of the entry's text (its content, else its
summary; spaces and line breaks compared as one space); ``summary``, ``author`` and
``language`` (the language the entry is matched in, decided from what the feed declares and
what the text says) are compared when given. Sources and licences: ``README.md`` there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.base.types import ParsedEntry
from monitor.stages.articles import resolve_language
from monitor.stages.parse import parse_feed

GOLDEN = Path(__file__).parent / "data" / "golden"


def _feeds() -> list[Path]:
    """Every feed file: the ``.xml`` ones, and the JSON Feeds (``*.feed.json``)."""
    return sorted([*GOLDEN.glob("*.xml"), *GOLDEN.glob("*.feed.json")])


def _expectation(feed: Path) -> dict[str, Any]:
    name = feed.name.removesuffix(".xml").removesuffix(".feed.json")
    expected: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return expected


def _seen(entry: ParsedEntry, expected: dict[str, Any]) -> dict[str, Any]:
    """The entry's fields that ``expected`` states, in its terms."""
    text = " ".join((entry.content or entry.summary).split())  # layout is not compared
    seen: dict[str, Any] = {
        "id": entry.guid,
        "link": entry.link,
        "title": entry.title,
        "published": entry.published.isoformat() if entry.published else None,
        "excerpt": text[: len(expected["excerpt"])],
    }
    if "summary" in expected:
        seen["summary"] = entry.summary
    if "author" in expected:
        seen["author"] = entry.author
    if "language" in expected:
        seen["language"] = resolve_language(entry).used
    return seen


def test_there_are_a_dozen_shapes_each_with_its_expectations() -> None:
    feeds = _feeds()
    assert len(feeds) >= 12
    for feed in feeds:
        assert _expectation(feed)["entries"], feed.name


@pytest.mark.parametrize("feed", _feeds(), ids=lambda p: p.name)
def test_a_golden_feed_parses_into_its_expected_entries(feed: Path) -> None:
    """Through :func:`parse_feed`, what the parse pool's workers run."""
    expected = _expectation(feed)
    headers = {"Content-Type": expected["content_type"]}
    parsed = parse_feed(feed.read_bytes(), expected["url"], headers)
    for key, value in expected["feed"].items():
        assert getattr(parsed, key) == value, key
    assert [_seen(e, x) for e, x in zip(parsed.entries, expected["entries"], strict=False)] == (
        expected["entries"]
    )
    assert len(parsed.entries) == len(expected["entries"])
