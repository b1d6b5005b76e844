"""The watch-rule query language: lexer, parser and syntax tree.

Grammar (precedence NOT > AND > OR; AND and OR mixed at one level without parentheses is refused
as ambiguous, because tools disagree on it)::

    query    := operand ((AND | OR)? operand)*        juxtaposition means AND
    operand  := (NOT | "-") operand | "(" query ")" | term
    term     := word | word* | "a phrase"

A word is matched as a whole token after folding (case, width, diacritics); a word that folds to
several tokens (``covid-19``) and a quoted phrase match consecutive tokens; ``word*`` matches
tokens that start with ``word`` (at least 3 characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.rules.text import fold, tokenize

MIN_PREFIX = 3


class QueryError(ValueError):
    """A query that cannot be compiled; ``offset`` is the character where the problem is."""

    def __init__(self, message: str, offset: int = 0) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message)


# --- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A leaf that can hit words of an article; ``source`` is how the user wrote it."""

    source: str
    offset: int

    def key(self) -> tuple[str, ...]:
        raise NotImplementedError


@dataclass(frozen=True)
class Word(Term):
    word: str

    def key(self) -> tuple[str, ...]:
        return ("word", self.word)


@dataclass(frozen=True)
class Phrase(Term):
    words: tuple[str, ...]

    def key(self) -> tuple[str, ...]:
        return ("phrase", *self.words)


@dataclass(frozen=True)
class Prefix(Term):
    prefix: str

    def key(self) -> tuple[str, ...]:
        return ("prefix", self.prefix)


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Not | And | Or


def iter_terms(node: Node, *, positive: bool = True) -> Iterator[tuple[Term, bool]]:
    """Every term under ``node`` with whether it counts positively (not under an odd NOT)."""
    if isinstance(node, Term):
        yield node, positive
    elif isinstance(node, Not):
        yield from iter_terms(node.child, positive=not positive)
    else:
        for child in node.children:
            yield from iter_terms(child, positive=positive)


def needs_a_hit(node: Node) -> bool:
    """True when ``node`` can only be true for an article in which one of its terms occurs."""
    if isinstance(node, Term):
        return True
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(needs_a_hit(child) for child in node.children)
    return all(needs_a_hit(child) for child in node.children)


# --- lexer -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # WORD PHRASE AND OR NOT LPAREN RPAREN END
    text: str
    offset: int


_SPECIAL = set('()"')


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Lexeme("LPAREN" if c == "(" else "RPAREN", c, i))
            i += 1
        elif c == '"':
            end = query.find('"', i + 1)
            if end == -1:
                raise QueryError("unterminated quote", i)
            out.append(_Lexeme("PHRASE", query[i + 1 : end], i))
            i = end + 1
        elif c == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
            out.append(_Lexeme("NOT", "-", i))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in _SPECIAL:
                j += 1
            text = query[i:j]
            kind = text if text in ("AND", "OR", "NOT") else "WORD"
            out.append(_Lexeme(kind, text, i))
            i = j
    out.append(_Lexeme("END", "", n))
    return out


# --- parser ------------------------------------------------------------------------------------


@dataclass
class _Parser:
    lexemes: list[_Lexeme]
    pos: int = 0
    depth: int = field(default=0)

    def peek(self) -> _Lexeme:
        return self.lexemes[self.pos]

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def query(self) -> Node:
        operands = [self.operand()]
        operators: list[_Lexeme] = []
        while self.peek().kind not in ("END", "RPAREN"):
            lexeme = self.peek()
            if lexeme.kind in ("AND", "OR"):
                self.take()
                operators.append(lexeme)
            else:
                operators.append(_Lexeme("AND", "", lexeme.offset))  # juxtaposition
            operands.append(self.operand())
        kinds = {op.kind for op in operators}
        if len(kinds) > 1:
            first = operators[0].kind
            culprit = next(op for op in operators if op.kind != first)
            raise QueryError(
                "AND and OR mixed without parentheses is ambiguous: "
                "write (a AND b) OR c, or a AND (b OR c)",
                culprit.offset,
            )
        if not operators:
            return operands[0]
        return And(tuple(operands)) if kinds == {"AND"} else Or(tuple(operands))

    def operand(self) -> Node:
        lexeme = self.take()
        if lexeme.kind == "NOT":
            return Not(self.operand())
        if lexeme.kind == "LPAREN":
            self.depth += 1
            if self.depth > 50:
                raise QueryError("parentheses nested too deeply", lexeme.offset)
            if self.peek().kind == "RPAREN":
                raise QueryError("empty parentheses", lexeme.offset)
            node = self.query()
            closing = self.take()
            if closing.kind != "RPAREN":
                raise QueryError("missing closing parenthesis", lexeme.offset)
            self.depth -= 1
            return node
        if lexeme.kind == "WORD":
            return _word_term(lexeme.text, lexeme.offset)
        if lexeme.kind == "PHRASE":
            return _phrase_term(lexeme.text, lexeme.offset)
        if lexeme.kind == "END":
            raise QueryError("query ends where a term was expected", lexeme.offset)
        if lexeme.kind == "RPAREN":
            raise QueryError("unexpected closing parenthesis", lexeme.offset)
        raise QueryError(f"{lexeme.text} needs a term before it", lexeme.offset)


def _word_term(text: str, offset: int) -> Term:
    for i, c in enumerate(text):
        if c in "?~=!@:/" or (c == "*" and i != len(text) - 1):
            raise QueryError(f"{c!r} in {text!r} is not supported here", offset + i)
    if text.endswith("*"):
        base = text[:-1]
        words = [t.text for t in tokenize(base)]
        if len(words) != 1 or len(words[0]) < MIN_PREFIX or fold(base) != words[0]:
            raise QueryError(
                f"a prefix needs at least {MIN_PREFIX} letters before '*' ({text!r})", offset
            )
        return Prefix(text, offset, words[0])
    words = [t.text for t in tokenize(text)]
    if not words:
        raise QueryError(f"{text!r} has no letters or digits to match", offset)
    if len(words) == 1:
        return Word(text, offset, words[0])
    return Phrase(text, offset, tuple(words))


def _phrase_term(text: str, offset: int) -> Term:
    words = tuple(t.text for t in tokenize(text))
    if not words:
        raise QueryError("empty phrase", offset)
    if len(words) == 1:
        return Word(f'"{text}"', offset, words[0])
    return Phrase(f'"{text}"', offset, words)


def parse_query(query: str) -> Node:
    """The syntax tree of ``query``; raises :class:`QueryError` with the offending offset."""
    if not query.strip():
        raise QueryError("empty query", 0)
    parser = _Parser(_lex(query))
    node = parser.query()
    trailing = parser.peek()
    if trailing.kind != "END":
        raise QueryError("unexpected closing parenthesis", trailing.offset)
    if not needs_a_hit(node):
        raise QueryError(
            "the query has no positive term: it would match articles that contain none of its "
            "words (add a term that must be present)",
            0,
        )
    return node
