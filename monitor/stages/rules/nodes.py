"""The syntax tree of a watch rule: terms (words, phrases, wildcards, typos, regexes) and the
Boolean, proximity and field nodes over them, with what can be said of a tree before any article
is seen (its terms, whether it needs a hit)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import regex

MIN_PREFIX = 3
MAX_EDITS = 2
DEFAULT_NEAR = 5
MAX_NEAR = 100
FIELDS = ("title", "summary", "content", "url", "source")
FIELD_ALIASES = {"text": ("title", "summary", "content")}

FAMILY, EXACT, CASE = "family", "exact", "case"


class QueryError(ValueError):
    """A query that cannot be compiled; ``offset`` is the character where the problem is."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message)


# --- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A leaf that can hit words of an article; ``source`` is how the user wrote it."""

    source: str
    offset: int = field(compare=False)

    def key(self) -> tuple[object, ...]:
        raise NotImplementedError

    @property
    def positional(self) -> bool:
        return True


@dataclass(frozen=True)
class Word(Term):
    """``word`` (its family), ``=word`` (exact form) or ``!Word`` (exact, case-sensitive)."""

    word: str
    mode: str = FAMILY
    cased: str = ""  # the NFKC text for case-sensitive comparison

    def key(self) -> tuple[object, ...]:
        return ("word", self.mode, self.word, self.cased)


@dataclass(frozen=True)
class Phrase(Term):
    """Consecutive words, each matched as its mode says."""

    words: tuple[str, ...]
    mode: str = FAMILY
    cased: tuple[str, ...] = ()

    def key(self) -> tuple[object, ...]:
        return ("phrase", self.mode, self.words, self.cased)


@dataclass(frozen=True)
class Wildcard(Term):
    """``word*`` (a prefix) or ``wo?d`` (one letter or digit each ``?``), on the normal form."""

    pattern: str
    literal: str  # the characters before the first wildcard
    compiled: re.Pattern[str] = field(compare=False, hash=False, repr=False)

    def key(self) -> tuple[object, ...]:
        return ("wildcard", self.pattern)


@dataclass(frozen=True)
class Fuzzy(Term):
    """``word~n``: words within ``edits`` optimal-string-alignment edits of ``word``."""

    word: str
    edits: int

    def key(self) -> tuple[object, ...]:
        return ("fuzzy", self.word, self.edits)


@dataclass(frozen=True)
class Regex(Term):
    """``/pattern/`` over the normal form of a field, with a time limit."""

    pattern: str
    compiled: regex.Pattern[str] = field(compare=False, hash=False, repr=False)

    def key(self) -> tuple[object, ...]:
        return ("regex", self.pattern)

    @property
    def positional(self) -> bool:
        return False


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    """``left NEAR/n right``: at most ``distance`` words between, in one field."""

    left: Node
    right: Node
    distance: int
    ordered: bool


@dataclass(frozen=True)
class Scope:
    """``title:(...)`` and friends: the subtree only looks at these fields."""

    fields: tuple[str, ...]
    child: Node


Node = Term | Not | And | Or | Near | Scope


def iter_terms(node: Node, *, positive: bool = True) -> Iterator[tuple[Term, bool]]:
    """Every term under ``node`` with whether it counts positively (not under an odd NOT)."""
    if isinstance(node, Term):
        yield node, positive
    elif isinstance(node, Not):
        yield from iter_terms(node.child, positive=not positive)
    elif isinstance(node, Near):
        yield from iter_terms(node.left, positive=positive)
        yield from iter_terms(node.right, positive=positive)
    elif isinstance(node, Scope):
        yield from iter_terms(node.child, positive=positive)
    else:
        for child in node.children:
            yield from iter_terms(child, positive=positive)


def needs_a_hit(node: Node) -> bool:
    """True when ``node`` can only be true for an article in which one of its terms occurs."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, Scope):
        return needs_a_hit(node.child)
    if isinstance(node, And):
        return any(needs_a_hit(child) for child in node.children)
    return all(needs_a_hit(child) for child in node.children)


def is_positional(node: Node) -> bool:
    """Whether ``node`` has word positions, so that it can stand beside NEAR."""
    if isinstance(node, Term):
        return node.positional
    if isinstance(node, Near):
        return True
    if isinstance(node, Scope):
        return is_positional(node.child)
    if isinstance(node, Or):
        return all(is_positional(child) for child in node.children)
    return False
