"""An entry's language: the feed's configured one, what the feed or entry says, the configured
default, then a guess from the text."""

from __future__ import annotations

import pytest

from monitor.base.types import ParsedEntry
from monitor.stages.articles import resolve_language

INDONESIAN = "Pemerintah akan menjatuhkan sanksi yang baru dan tidak akan mundur dari itu"
ENGLISH = "The government said that it was not going to back down on the new sanctions"


def entry(language: str | None, text: str = INDONESIAN) -> ParsedEntry:
    return ParsedEntry(None, None, "", "", text, None, language=language)


@pytest.mark.parametrize(
    ("configured", "declared", "default", "text", "expected"),
    [
        ("en", "id", "id", INDONESIAN, "en"),  # the feed's config wins over everything
        ("EN-us", None, None, INDONESIAN, "en"),
        (None, "id-ID", "en", ENGLISH, "id"),  # then what the feed or the entry declares
        (None, "in", "en", ENGLISH, "id"),  # the old code for Indonesian
        (None, None, "en", INDONESIAN, "en"),  # then the configured default
        (None, "", "en", INDONESIAN, "en"),
        (None, None, None, INDONESIAN, "id"),  # then a guess from the function words
        (None, None, None, ENGLISH, "en"),
        (None, None, None, "Minsk Lukashenko Belarus", None),  # no guess: no stemming
        ("", "", "", "", None),
    ],
)
def test_language_precedence(
    configured: str | None,
    declared: str | None,
    default: str | None,
    text: str,
    expected: str | None,
) -> None:
    assert resolve_language(entry(declared, text), configured, default) == expected
