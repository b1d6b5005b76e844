"""The teaser decision on feed shapes built after real sites' feeds (tests/data/teasers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.base.types import ParsedEntry
from monitor.stages.parse import parse_feed
from monitor.stages.teaser import (
    ARTICLE_WORDS,
    TEASER_WORDS,
    FullText,
    carries_articles,
    judge,
    wants_page,
    words,
)

SHAPES = Path(__file__).parent / "data" / "teasers"
EXPECTED: dict[str, list[bool]] = yaml.safe_load((SHAPES / "expected.yaml").read_text())


def _entries(name: str) -> tuple[ParsedEntry, ...]:
    return parse_feed((SHAPES / name).read_bytes(), f"http://127.0.0.1/{name}", {}).entries


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shape_is_judged_as_expected(name: str) -> None:
    entries = _entries(name)
    full = carries_articles(entries)
    got = [judge(e, feed_carries_articles=full).teaser for e in entries]
    assert got == EXPECTED[name], [judge(e, feed_carries_articles=full) for e in entries]


def test_the_thresholds_sit_between_the_measured_teasers_and_articles() -> None:
    """The word counts the thresholds were chosen from: every teaser that is not marked as one
    by its tail is shorter than TEASER_WORDS, every article longer than ARTICLE_WORDS."""
    teasers, articles = [], []
    for name, expected in EXPECTED.items():
        for entry, teaser in zip(_entries(name), expected, strict=True):
            body = entry.content if len(entry.content) >= len(entry.summary) else entry.summary
            n = words(body)
            (teasers if teaser else articles).append(n)
    long_articles = [n for n in articles if n >= TEASER_WORDS]
    assert max(teasers) < TEASER_WORDS < min(long_articles)
    assert min(long_articles) >= ARTICLE_WORDS


def test_modes() -> None:
    teaser = ParsedEntry(None, "http://127.0.0.1/a", "T", "One sentence only.", "", None)
    article = ParsedEntry(None, "http://127.0.0.1/b", "T", "s", "word " * 400, None)
    assert wants_page(teaser, FullText.NEVER) is None
    assert wants_page(article, FullText.AUTO) is None
    verdict = wants_page(teaser, FullText.AUTO)
    assert verdict is not None
    assert verdict.reason == "3 words"
    assert wants_page(article, FullText.ALWAYS) is not None
    no_link = ParsedEntry(None, None, "T", "One sentence only.", "", None)
    assert wants_page(no_link, FullText.ALWAYS) is None


@pytest.mark.parametrize(
    "tail",
    [
        "dengan...",
        "dengan …",
        "mereka [&#8230;]",
        "Baca selengkapnya",
        "Read more »",
        "Continue reading →",
        "[…] The post X appeared first on Kabar Timur.",
    ],
)
def test_a_text_that_ends_as_a_teaser_is_one_whatever_its_length(tail: str) -> None:
    import html

    body = "kata " * 300 + html.unescape(tail)
    entry = ParsedEntry(None, "http://127.0.0.1/a", "T", "", body, None)
    assert judge(entry, feed_carries_articles=True).teaser
