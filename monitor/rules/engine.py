"""All rules compiled into one term index; an article is scanned once, rules evaluated on hits.

Identical terms in different rules share one index entry, so 10,000 rules cost one dictionary
lookup per word plus a check of the few prefixes that share the word's first letters. Only rules
with at least one hit term have their Boolean tree evaluated (every query is checked at load time
to need a hit: see :func:`monitor.rules.query.needs_a_hit`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.rules.query import (
    MIN_PREFIX,
    And,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Term,
    Word,
    iter_terms,
    parse_query,
)
from monitor.rules.text import Token, snippet, tokenize

FIELDS = ("title", "summary", "content")


@dataclass(frozen=True)
class Article:
    """The text a rule looks at; each field is plain text (see :func:`html_to_text`)."""

    title: str = ""
    summary: str = ""
    content: str = ""

    def field(self, name: str) -> str:
        text: str = getattr(self, name)
        return text


@dataclass(frozen=True)
class Hit:
    """Where a rule term occurred: ``text`` is ``field_text[start:end]`` of the article."""

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


@dataclass(frozen=True)
class Match:
    """A rule that fired for an article, with the hits of its positive terms."""

    rule_id: str
    hits: tuple[Hit, ...]

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.term for hit in self.hits))


@dataclass(frozen=True)
class CompiledRule:
    id: str
    query: Node
    exclude: Node | None
    positive_terms: frozenset[int]


@dataclass
class _Index:
    terms: list[Term] = field(default_factory=list)
    ids: dict[tuple[str, ...], int] = field(default_factory=dict)
    words: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    phrase_heads: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    prefixes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def add(self, term: Term) -> int:
        key = term.key()
        if key in self.ids:
            return self.ids[key]
        term_id = len(self.terms)
        self.ids[key] = term_id
        self.terms.append(term)
        if isinstance(term, Word):
            self.words[term.word].append(term_id)
        elif isinstance(term, Phrase):
            self.phrase_heads[term.words[0]].append(term_id)
        elif isinstance(term, Prefix):
            self.prefixes[term.prefix[:MIN_PREFIX]].append(term_id)
        return term_id


class RuleSet:
    """Rules ready to match; build with :meth:`compile`."""

    def __init__(self, rules: Sequence[CompiledRule], index: _Index) -> None:
        self.rules = tuple(rules)
        self._index = index
        self._term_ids = index.ids
        self._rules_by_term: dict[int, list[CompiledRule]] = defaultdict(list)
        for rule in self.rules:
            for term_id in rule.positive_terms:
                self._rules_by_term[term_id].append(rule)

    @classmethod
    def compile(cls, queries: Iterable[tuple[str, str, str | None]]) -> RuleSet:
        """Compile ``(rule_id, query, exclude)``; raises ``QueryError`` on the first bad query."""
        return cls.build(
            (rule_id, parse_query(query), parse_query(exclude) if exclude else None)
            for rule_id, query, exclude in queries
        )

    @classmethod
    def build(cls, trees: Iterable[tuple[str, Node, Node | None]]) -> RuleSet:
        """Index already parsed ``(rule_id, query_tree, exclude_tree)`` triples."""
        index = _Index()
        rules = []
        for rule_id, tree, exclude_tree in trees:
            positive = {index.add(term) for term, pos in iter_terms(tree) if pos}
            for term, _ in iter_terms(tree):
                index.add(term)
            if exclude_tree is not None:
                for term, _ in iter_terms(exclude_tree):
                    index.add(term)
            rules.append(CompiledRule(rule_id, tree, exclude_tree, frozenset(positive)))
        return cls(rules, index)

    def match(self, article: Article) -> list[Match]:
        """The rules ``article`` satisfies, in rule order, each with its hits."""
        hits = self._scan(article)
        if not hits:
            return []
        candidates = {id(r): r for term_id in hits for r in self._rules_by_term.get(term_id, ())}
        matches = []
        for rule in self.rules:
            if id(rule) not in candidates or not self._holds(rule.query, hits):
                continue
            if rule.exclude is not None and self._holds(rule.exclude, hits):
                continue
            rule_hits = [
                h for term_id in sorted(rule.positive_terms) for h in hits.get(term_id, ())
            ]
            if not rule_hits:
                continue
            rule_hits.sort(key=lambda h: (FIELDS.index(h.field), h.start))
            matches.append(Match(rule.id, tuple(rule_hits)))
        return matches

    def _holds(self, node: Node, hits: Mapping[int, list[Hit]]) -> bool:
        if isinstance(node, Term):
            return self._term_ids[node.key()] in hits
        if isinstance(node, Not):
            return not self._holds(node.child, hits)
        if isinstance(node, And):
            return all(self._holds(child, hits) for child in node.children)
        assert isinstance(node, Or)
        return any(self._holds(child, hits) for child in node.children)

    def _scan(self, article: Article) -> dict[int, list[Hit]]:
        index = self._index
        hits: dict[int, list[Hit]] = defaultdict(list)
        for name in FIELDS:
            text = article.field(name)
            if not text:
                continue
            tokens = tokenize(text)
            for token in tokens:
                found: dict[int, Hit] = {}
                for key in token.keys:
                    for term_id in index.words.get(key, ()):
                        found.setdefault(
                            term_id, _hit(name, text, token, token, index.terms[term_id], "exact")
                        )
                    for term_id in index.phrase_heads.get(key, ()):
                        phrase = index.terms[term_id]
                        assert isinstance(phrase, Phrase)
                        last = _phrase_end(tokens, token.position, phrase.words)
                        if last is not None:
                            found.setdefault(
                                term_id, _hit(name, text, token, last, phrase, "exact")
                            )
                    for term_id in index.prefixes.get(key[:MIN_PREFIX], ()):
                        prefix = index.terms[term_id]
                        assert isinstance(prefix, Prefix)
                        if key.startswith(prefix.prefix):
                            found.setdefault(
                                term_id, _hit(name, text, token, token, prefix, "prefix")
                            )
                for term_id, hit in found.items():
                    hits[term_id].append(hit)
        return hits


def _phrase_end(tokens: Sequence[Token], start: int, words: Sequence[str]) -> Token | None:
    if start + len(words) > len(tokens):
        return None
    for offset, word in enumerate(words):
        if word not in tokens[start + offset].keys:
            return None
    return tokens[start + len(words) - 1]


def _hit(field: str, text: str, first: Token, last: Token, term: Term, how: str) -> Hit:
    return Hit(field, text[first.start : last.end], first.start, last.end, term.source, how)
