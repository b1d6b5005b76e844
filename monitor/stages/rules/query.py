"""The watch-rule query language: lexer, parser and syntax tree (RULES.md).

Precedence, loosest first: OR, AND, NEAR, NOT. AND and OR mixed at one level without
parentheses is refused as ambiguous (tools disagree on it)::

    query    := near ((AND | OR)? near)*           juxtaposition means AND
    near     := unary ((NEAR | NEAR/n | ONEAR/n) unary)*
    unary    := (NOT | "-") unary | field ":" unary | "(" query ")" | @group | term
    term     := word | =word | !Word | word* | wo?d | word~ | word~n | "phrase" | ="..." | !"..."
                | /regex/

Every query must need a hit: a tree that could be true for an article containing none of its
terms (a bare ``NOT x``) is refused. That is what lets the matcher evaluate only rules whose terms
occur in an article.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import regex

from monitor.base.text import WORD, fold
from monitor.stages.rules.nodes import (
    CASE,
    DEFAULT_NEAR,
    EXACT,
    FAMILY,
    FIELD_ALIASES,
    FIELDS,
    MAX_EDITS,
    MAX_NEAR,
    MIN_PREFIX,
    And,
    Fuzzy,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    QueryError,
    Regex,
    Scope,
    Term,
    Wildcard,
    Word,
    is_positional,
    iter_terms,
    needs_a_hit,
)

# --- lexer ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # TERM PHRASE REGEX GROUP FIELD AND OR NOT NEAR LPAREN RPAREN END
    text: str
    offset: int
    prefix: str = ""  # "=" or "!" before a term or phrase
    near: tuple[int, bool] = (0, False)


_NEAR = re.compile(r"(O?NEAR)(?:/(\d+))?$")
_FIELD = re.compile(r"([a-z]+):")
_GROUP = re.compile(r"@([A-Za-z0-9][A-Za-z0-9_.-]*)")
_STOP = set('()"')


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        lexeme, i = _lexeme_at(query, i)
        out.append(lexeme)
    out.append(_Lexeme("END", "", n))
    return out


def _lexeme_at(query: str, i: int) -> tuple[_Lexeme, int]:
    """The lexeme that starts at ``query[i]`` (not a space), and where the next one may."""
    c, n = query[i], len(query)
    if c in "()":
        return _Lexeme("LPAREN" if c == "(" else "RPAREN", c, i), i + 1
    if c in "=!" and i + 1 < n and not query[i + 1].isspace():
        return _marked(query, i)
    if c == '"':
        return _lex_phrase(query, i, i, "")
    if c == "/":
        end = _regex_end(query, i)
        return _Lexeme("REGEX", query[i + 1 : end], i), end + 1
    if c == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
        return _Lexeme("NOT", "-", i), i + 1
    if c == "@":
        match = _GROUP.match(query, i)
        if not match:
            raise QueryError("@ must be followed by a group name", i)
        return _Lexeme("GROUP", match.group(1), i), match.end()
    field_match = _FIELD.match(query, i)
    if field_match and field_match.end() < n and not query[field_match.end()].isspace():
        return _Lexeme("FIELD", field_match.group(1), i), field_match.end()
    return _lex_word(query, i)


def _marked(query: str, start: int) -> tuple[_Lexeme, int]:
    """``=word``, ``!Word``, ``="a phrase"``: the mark, then a phrase or one word."""
    prefix, i = query[start], start + 1
    if query[i] == '"':
        return _lex_phrase(query, i, start, prefix)
    j = _word_end(query, i)
    return _Lexeme("TERM", query[i:j], start, prefix), j


def _lex_phrase(query: str, i: int, start: int, prefix: str) -> tuple[_Lexeme, int]:
    end = query.find('"', i + 1)
    if end == -1:
        raise QueryError("unterminated quote", i)
    return _Lexeme("PHRASE", query[i + 1 : end], start, prefix), end + 1


def _lex_word(query: str, i: int) -> tuple[_Lexeme, int]:
    """An operator (AND, OR, NOT, NEAR/n, ONEAR/n) or a term."""
    j = _word_end(query, i)
    text = query[i:j]
    if text in ("AND", "OR", "NOT"):
        return _Lexeme(text, text, i), j
    near = _NEAR.match(text)
    if near:
        distance = int(near.group(2)) if near.group(2) else DEFAULT_NEAR
        if distance > MAX_NEAR:
            raise QueryError(f"NEAR distance is at most {MAX_NEAR} words", i)
        return _Lexeme("NEAR", text, i, near=(distance, near.group(1) == "ONEAR")), j
    return _Lexeme("TERM", text, i), j


def _word_end(query: str, i: int) -> int:
    while i < len(query) and not query[i].isspace() and query[i] not in _STOP:
        i += 1
    return i


def _regex_end(query: str, i: int) -> int:
    j = i + 1
    while j < len(query):
        if query[j] == "\\":
            j += 2
            continue
        if query[j] == "/":
            return j
        j += 1
    raise QueryError("unterminated /regex/", i)


# --- terms ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def _cased(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(unicodedata.normalize("NFKC", text)))


def auto_edits(word: str) -> int:
    """Typos allowed by ``word~``: none under 7 letters, one from 7, two from 12."""
    return 0 if len(word) < 7 else (1 if len(word) < 12 else 2)


def _term(lexeme: _Lexeme) -> Term:
    text, offset, prefix = lexeme.text, lexeme.offset, lexeme.prefix
    source = prefix + text
    mode = {"": FAMILY, "=": EXACT, "!": CASE}[prefix]
    fuzzy = re.search(r"~(\d*)$", text)
    if fuzzy:
        return _fuzzy(text[: fuzzy.start()], fuzzy.group(1), source, offset, mode)
    if "*" in text or "?" in text:
        return _wildcard(text, source, offset, mode)
    words = _words(text)
    if not words:
        raise QueryError(f"{text!r} has no letters or digits to match", offset)
    cased = _cased(text) if mode == CASE else ()
    if len(words) == 1:
        return Word(source, offset, words[0], mode, cased[0] if cased else "")
    return Phrase(source, offset, tuple(words), mode, cased)


def _fuzzy(word_text: str, edits_text: str, source: str, offset: int, mode: str) -> Term:
    if mode != FAMILY:
        raise QueryError("~ (typo tolerance) cannot be combined with = or !", offset)
    words = _words(word_text)
    if len(words) != 1:
        raise QueryError(f"~ applies to one word, not {word_text!r}", offset)
    word = words[0]
    edits = int(edits_text) if edits_text else auto_edits(word)
    if edits > MAX_EDITS:
        raise QueryError(f"at most {MAX_EDITS} typos (~{MAX_EDITS})", offset + len(source) - 1)
    if edits == 0:
        return Word(source, offset, word, FAMILY)
    return Fuzzy(source, offset, word, edits)


def _wildcard(text: str, source: str, offset: int, mode: str) -> Term:
    if mode == CASE:
        raise QueryError("wildcards cannot be case-sensitive", offset)
    star = text.find("*")
    if star != -1 and star != len(text) - 1:
        raise QueryError(
            f"'*' may only end a word ({text!r})", offset + star + len(source) - len(text)
        )
    body = fold(text.rstrip("*"))
    if not re.fullmatch(r"[\w?'-]+", body):
        raise QueryError(f"{text!r}: wildcards work inside one word", offset)
    literal = body.split("?", 1)[0]  # the letters before the first wildcard
    if star != -1 and len(literal) < MIN_PREFIX:
        no_letter = "; a '?' is no letter" if "?" in body else ""
        raise QueryError(
            f"a prefix needs at least {MIN_PREFIX} letters before '*' ({text!r}){no_letter}",
            offset,
        )
    # ? is one letter or digit, never a hyphen or an apostrophe inside a word
    pattern = re.escape(body).replace(r"\?", r"[^\W_]") + (".*" if star != -1 else "")
    return Wildcard(
        source, offset, body + ("*" if star != -1 else ""), literal, re.compile(pattern + r"\Z")
    )


def _phrase(lexeme: _Lexeme) -> Term:
    mode = {"": FAMILY, "=": EXACT, "!": CASE}[lexeme.prefix]
    words = tuple(_words(lexeme.text))
    source = f'{lexeme.prefix}"{lexeme.text}"'
    if not words:
        raise QueryError("empty phrase", lexeme.offset)
    cased = _cased(lexeme.text) if mode == CASE else ()
    if len(words) == 1:
        return Word(source, lexeme.offset, words[0], mode, cased[0] if cased else "")
    return Phrase(source, lexeme.offset, words, mode, cased)


def _regex(lexeme: _Lexeme) -> Regex:
    if not lexeme.text:
        raise QueryError("empty /regex/", lexeme.offset)
    try:
        compiled = regex.compile(lexeme.text)
    except regex.error as e:
        position = getattr(e, "pos", None) or 0
        raise QueryError(f"invalid regex: {e}", lexeme.offset + 1 + position) from e
    return Regex(f"/{lexeme.text}/", lexeme.offset, lexeme.text, compiled)


# --- parser --------------------------------------------------------------------------------

GroupResolver = Callable[[str, int], Node]


def _no_groups(name: str, offset: int) -> Node:
    raise QueryError(f"unknown group @{name}", offset)


@dataclass
class _Parser:
    lexemes: list[_Lexeme]
    resolve: GroupResolver
    pos: int = 0
    depth: int = 0

    def peek(self) -> _Lexeme:
        return self.lexemes[self.pos]

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.pos]
        self.pos += 1
        return lexeme

    def query(self) -> Node:
        operands = [self.near()]
        operators: list[_Lexeme] = []
        while self.peek().kind not in ("END", "RPAREN"):
            lexeme = self.peek()
            if lexeme.kind in ("AND", "OR"):
                self.take()
                operators.append(lexeme)
            else:
                operators.append(_Lexeme("AND", "", lexeme.offset))  # juxtaposition
            operands.append(self.near())
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

    def near(self) -> Node:
        left = self.unary()
        while self.peek().kind == "NEAR":
            operator = self.take()
            right = self.unary()
            for side in (left, right):
                if not is_positional(side):
                    raise QueryError(
                        f"{operator.text} needs words, phrases or OR-groups of them on both sides",
                        operator.offset,
                    )
            distance, ordered = operator.near
            left = Near(left, right, distance, ordered)
        return left

    def unary(self) -> Node:
        lexeme = self.take()
        kind = lexeme.kind
        if kind == "NOT":
            return Not(self.unary())
        if kind == "FIELD":
            fields = FIELD_ALIASES.get(lexeme.text) or (
                (lexeme.text,) if lexeme.text in FIELDS else None
            )
            if fields is None:
                known = ", ".join((*FIELDS, *FIELD_ALIASES))
                raise QueryError(f"unknown field {lexeme.text}: (fields: {known})", lexeme.offset)
            return Scope(fields, self.unary())
        if kind == "LPAREN":
            self.depth += 1
            if self.depth > 50:
                raise QueryError("parentheses nested too deeply", lexeme.offset)
            if self.peek().kind == "RPAREN":
                raise QueryError("empty parentheses", lexeme.offset)
            node = self.query()
            if self.take().kind != "RPAREN":
                raise QueryError("missing closing parenthesis", lexeme.offset)
            self.depth -= 1
            return node
        if kind == "GROUP":
            return self.resolve(lexeme.text, lexeme.offset)
        if kind == "TERM":
            return _term(lexeme)
        if kind == "PHRASE":
            return _phrase(lexeme)
        if kind == "REGEX":
            return _regex(lexeme)
        if kind == "END":
            raise QueryError("query ends where a term was expected", lexeme.offset)
        if kind == "RPAREN":
            raise QueryError("unexpected closing parenthesis", lexeme.offset)
        raise QueryError(f"{lexeme.text} needs a term before it", lexeme.offset)


def parse_query(query: str, groups: GroupResolver | None = None, *, check: bool = True) -> Node:
    """The syntax tree of ``query``; raises :class:`QueryError` with the offending offset.

    ``groups`` resolves ``@name`` to a tree; ``check`` refuses a query with no positive term.
    """
    if not query.strip():
        raise QueryError("empty query", 0)
    parser = _Parser(_lex(query), groups or _no_groups)
    node = parser.query()
    trailing = parser.peek()
    if trailing.kind != "END":
        raise QueryError("unexpected closing parenthesis", trailing.offset)
    if check and not needs_a_hit(node):
        raise QueryError(
            "the query has no positive term: it would match articles that contain none of its "
            "words (add a term that must be present)",
            0,
        )
    return node


def lint_query(node: Node) -> list[tuple[str, int]]:
    """Warnings (message, offset) about terms that work but probably not as meant."""
    warnings = []
    for term, _ in iter_terms(node):
        if isinstance(term, Fuzzy) and len(term.word) < 7:
            warnings.append(
                (
                    f"{term.source}: typo tolerance on a {len(term.word)}-letter word also "
                    "matches other words (sanksi~1 matches saksi); see test-rules --explain",
                    term.offset,
                )
            )
        elif isinstance(term, Word) and "~" in term.source:
            warnings.append(
                (
                    f"{term.source}: ~ allows no typo under 7 letters; write ~1 to allow one",
                    term.offset,
                )
            )
    return warnings
