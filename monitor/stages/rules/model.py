"""What rules look at and what they give back: articles, rule definitions, hits and
matches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from monitor.stages.rules.nodes import Node
from monitor.stages.rules.words import snippet

TEXT_FIELDS = ("title", "summary", "content")
ALL_FIELDS = (*TEXT_FIELDS, "url", "source")
REGEX_TIMEOUT = 0.05  # seconds per field: a pathological /regex/ cannot stall matching
MAX_OCCURRENCES = 50  # per term and field: enough to quote, bounded for NEAR pairs


@dataclass(frozen=True)
class Article:
    """What rules look at: plain-text fields, the article's language and where it came from."""

    title: str = ""
    summary: str = ""
    content: str = ""
    url: str = ""
    language: str | None = None
    feed: str = ""
    tags: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def field(self, name: str) -> str:
        if name == "source":
            return " ".join((self.feed, *self.tags, *self.domains))
        text: str = getattr(self, name)
        return text

    def from_source(self, names: Iterable[str]) -> bool:
        """Whether the article's feed name, a tag, or a domain is one of ``names``."""
        for name in names:
            wanted = name.lower()
            if wanted == self.feed.lower() or wanted in (t.lower() for t in self.tags):
                return True
            if any(d == wanted or d.endswith("." + wanted) for d in self.domains):
                return True
        return False


class Hit(NamedTuple):
    """Where a rule term occurred: ``text`` is ``article.field(field)[start:end]``.

    A named tuple: an article can produce hundreds, and they are immutable values."""

    field: str
    text: str
    start: int
    end: int
    term: str
    how: str

    def to_dict(self, article: Article | None = None) -> dict[str, object]:
        data: dict[str, object] = {
            "field": self.field,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "term": self.term,
            "how": self.how,
        }
        if article is not None:
            data["snippet"] = snippet(article.field(self.field), self.start, self.end)
        return data


class Match(NamedTuple):
    """A rule that fired for an article, with the hits of its positive terms."""

    rule_id: str
    hits: tuple[Hit, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.term for hit in self.hits))


@dataclass(frozen=True)
class RuleDefinition:
    """A parsed rule ready to be indexed."""

    id: str
    query: Node
    exclude: Node | None = None
    fields: tuple[str, ...] = TEXT_FIELDS
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompiledRule:
    id: str
    definition: RuleDefinition
    index: int
    positive_terms: frozenset[int]
    simple: tuple[int, ...] | None = None  # its terms, when any occurrence fires it
    covers_all: bool = False  # its fields include every field the rule set scans
