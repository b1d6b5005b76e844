"""All rules compiled into one term index; an article is scanned once, rules evaluated on hits.

An article's fields are folded and split once, with C-level string operations, into word
slots (:func:`monitor.base.text.split_slots`). What each distinct word means to the index (the
terms it hits through its surface form, stem, prefix or typos, and how) is worked out once per
word and language (stems from PyStemmer, in C, for the batch of new words) and kept: news
vocabulary repeats, so an article costs a set difference against the words seen and a test
against the small dict of words that hit. Only the slots that hit are then walked in Python,
for phrases and case checks; offsets are worked out only for the hits that are quoted.

Identical terms in different rules share one index entry. A rule is evaluated only when one of
its triggers occurs: terms one of which every article it matches contains (every query is
checked at load time to need a hit, see :func:`monitor.stages.rules.query.needs_a_hit`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import compress, count

import structlog

from monitor.stages.rules.index import TermIndex
from monitor.stages.rules.lexicon import Lexicon
from monitor.stages.rules.model import (
    ALL_FIELDS,
    MAX_OCCURRENCES,
    TEXT_FIELDS,
    Article,
    CompiledRule,
    Hit,
    Match,
    RuleDefinition,
)
from monitor.stages.rules.nodes import (
    CASE,
    FAMILY,
    And,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Scope,
    Term,
    Word,
    iter_terms,
)
from monitor.stages.rules.overrides import NO_OVERRIDES, WordOverrides
from monitor.stages.rules.query import parse_query
from monitor.stages.rules.slots import (
    FIELD,
    FIRST,
    LAST,
    ArticleText,
    Occurrence,
    Occurrences,
    Test,
    cased_equal,
    hit_order,
    inside,
    quote_hits,
    quote_term,
    scan_regex,
)
from monitor.stages.rules.trees import is_simple, scoped_fields, triggers

log = structlog.get_logger("newsmon.rules")


class RuleSet:
    """Rules ready to match; build with :meth:`compile` or :meth:`build`.

    What each distinct word means to the index (its hits through surface forms, stems,
    prefixes, typos) is computed once and cached per language, up to ``MAX_CACHED_WORDS``.
    """

    def __init__(self, rules: Sequence[CompiledRule], index: TermIndex) -> None:
        self.rules = tuple(rules)
        self._index = index
        self._lexicon = Lexicon(index)
        self._rules_by_term: dict[int, list[int]] = defaultdict(list)
        shared: dict[int, int] = defaultdict(int)  # term -> how many rules it is positive in
        for rule in self.rules:
            for term_id in rule.positive_terms:
                shared[term_id] += 1
        fields: set[str] = set(TEXT_FIELDS)
        for rule in self.rules:
            # A rule is looked at only when one of its triggers occurs: terms one of which any
            # article it matches must contain, preferring terms that fewer rules share.
            found = triggers(rule.definition.query, index.ids, shared)
            for term_id in rule.positive_terms if found is None else found:
                self._rules_by_term[term_id].append(rule.index)
            fields.update(rule.definition.fields)
            for tree in (rule.definition.query, rule.definition.exclude):
                fields.update(scoped_fields(tree))
        self._fields = tuple(f for f in ALL_FIELDS if f in fields)
        self.rules = tuple(
            replace(rule, covers_all=set(rule.definition.fields).issuperset(self._fields))
            for rule in self.rules
        )
        # Each rule's Boolean tree as nested closures: no isinstance dispatch per article.
        self._tests: list[tuple[Test, Test | None, frozenset[str]]] = []
        for rule in self.rules:
            scope = frozenset(rule.definition.fields)
            test = self._compile(rule.definition.query, scope)
            exclude = rule.definition.exclude
            self._tests.append((test, self._compile(exclude, scope) if exclude else None, scope))

    def _compile(self, node: Node, fields: frozenset[str]) -> Test:
        """``node`` as a function of the article's occurrences."""
        if isinstance(node, Term):
            term_id = self._index.ids[node.key()]
            if fields.issuperset(self._fields):  # every scanned field counts: presence is enough
                return lambda occ: term_id in occ
            return lambda occ: any(o[FIELD] in fields for o in occ.get(term_id, ()))
        if isinstance(node, Not):
            child = self._compile(node.child, fields)
            return lambda occ: not child(occ)
        if isinstance(node, And | Or):
            children = [self._compile(c, fields) for c in node.children]
            if len(children) == 2:  # the common case, without a generator per call
                first, second = children
                if isinstance(node, And):
                    return lambda occ: first(occ) and second(occ)
                return lambda occ: first(occ) or second(occ)
            if isinstance(node, And):
                return lambda occ: all(test(occ) for test in children)
            return lambda occ: any(test(occ) for test in children)
        if isinstance(node, Scope):
            return self._compile(node.child, frozenset(node.fields))
        return lambda occ: bool(self._spans(node, fields, occ))

    @property
    def terms(self) -> tuple[Term, ...]:
        return tuple(self._index.terms)

    @property
    def overrides(self) -> WordOverrides:
        return self._index.overrides

    @classmethod
    def compile(
        cls,
        queries: Iterable[tuple[str, str, str | None]],
        overrides: WordOverrides = NO_OVERRIDES,
    ) -> RuleSet:
        """Compile ``(rule_id, query, exclude)``; raises ``QueryError`` on the first bad query."""
        return cls.build(
            (
                RuleDefinition(
                    rule_id, parse_query(query), parse_query(exclude) if exclude else None
                )
                for rule_id, query, exclude in queries
            ),
            overrides,
        )

    @classmethod
    def build(
        cls, definitions: Iterable[RuleDefinition], overrides: WordOverrides = NO_OVERRIDES
    ) -> RuleSet:
        """Index parsed rules; ``overrides`` are the users' word-family settings."""
        index = TermIndex(overrides=overrides)
        rules = []
        for number, definition in enumerate(definitions):
            positive = tuple(
                dict.fromkeys(index.add(term) for term, pos in iter_terms(definition.query) if pos)
            )
            for tree in (definition.query, definition.exclude):
                if tree is not None:
                    for term, _ in iter_terms(tree):
                        index.add(term)
            rules.append(
                CompiledRule(
                    definition.id,
                    definition,
                    number,
                    frozenset(positive),
                    positive if is_simple(definition) else None,
                )
            )
        return cls(rules, index)

    # --- matching ------------------------------------------------------------------------------

    def match(self, article: Article) -> list[Match]:
        """The rules ``article`` satisfies, in rule order, each with its hits."""
        fields = [(name, value) for name in self._fields if (value := article.field(name))]
        if not fields:
            return []
        text = ArticleText.of(fields)
        occurrences = Occurrences(text.words)
        self._scan(text, article.language, occurrences)
        for index_, normal in enumerate(text.normals):
            for term_id in self._index.regexes:
                scan_regex(
                    text.names[index_], normal, term_id, self._index.terms[term_id], occurrences
                )
        if not occurrences:
            return []
        by_term = self._rules_by_term
        candidates = {n for term_id in occurrences for n in by_term.get(term_id, ())}
        matches = []
        terms = self._index.terms
        term_hits: dict[int, tuple[Hit, ...]] = {}  # the hits of each term, made once per article
        for number in sorted(candidates):
            rule = self.rules[number]
            if rule.simple is None:
                found = self._evaluate(rule, article, occurrences)
            elif rule.covers_all:  # any occurrence of its terms fires it, in any field
                hits: tuple[Hit, ...] = ()
                for term_id in rule.simple:
                    if term_id in occurrences:
                        if term_id not in term_hits:
                            term_hits[term_id] = quote_term(
                                term_id, occurrences[term_id], text, terms
                            )
                        hits += term_hits[term_id]
                if len(rule.simple) > 1:
                    hits = tuple(sorted(hits, key=hit_order))
                matches.append(Match(rule.id, hits))
                continue
            else:
                scope = rule.definition.fields
                found = [
                    (t, o) for t in rule.simple for o in occurrences.get(t, ()) if o[FIELD] in scope
                ]
            if found:
                matches.append(Match(rule.id, quote_hits(found, text, terms)))
        return matches

    def _evaluate(
        self, rule: CompiledRule, article: Article, occ: Occurrences
    ) -> list[tuple[int, Occurrence]]:
        test, exclude, scope = self._tests[rule.index]
        if not test(occ) or (exclude is not None and exclude(occ)):
            return []
        definition = rule.definition
        language = article.language
        if definition.languages and language and language not in definition.languages:
            return []
        if definition.sources and not article.from_source(definition.sources):
            return []
        if definition.exclude_sources and article.from_source(definition.exclude_sources):
            return []
        found: list[tuple[int, Occurrence]] = []
        self._collect(definition.query, scope, True, occ, found)
        return found

    def _spans(
        self, node: Node, fields: frozenset[str], occ: Occurrences
    ) -> list[tuple[str, int, int]]:
        """Word spans ``(field, first, last)`` where a positional node holds."""
        if isinstance(node, Term):
            return [
                (o[FIELD], o[FIRST], o[LAST])
                for o in occ.get(self._index.ids[node.key()], ())
                if o[FIELD] in fields and o[FIRST] >= 0
            ]
        if isinstance(node, Or):
            return [span for child in node.children for span in self._spans(child, fields, occ)]
        if isinstance(node, Scope):
            return self._spans(node.child, frozenset(node.fields), occ)
        assert isinstance(node, Near)
        spans = []
        for field_a, first_a, last_a in self._spans(node.left, fields, occ):
            for field_b, first_b, last_b in self._spans(node.right, fields, occ):
                if field_a != field_b:
                    continue
                if last_a < first_b:
                    between = occ.words_between(last_a, first_b)
                elif node.ordered:
                    continue
                elif last_b < first_a:
                    between = occ.words_between(last_b, first_a)
                else:  # overlapping
                    between = 0
                if between <= node.distance:
                    spans.append((field_a, min(first_a, first_b), max(last_a, last_b)))
        return spans

    def _collect(
        self,
        node: Node,
        fields: frozenset[str],
        positive: bool,
        occ: Occurrences,
        out: list[tuple[int, Occurrence]],
        within: list[tuple[str, int, int]] | None = None,
    ) -> None:
        """The occurrences of positive terms that made the rule fire."""
        if isinstance(node, Term):
            if not positive:
                return
            term_id = self._index.ids[node.key()]
            for o in occ.get(term_id, ()):
                if o[FIELD] in fields and (within is None or inside(o, within)):
                    out.append((term_id, o))
        elif isinstance(node, Not):
            self._collect(node.child, fields, not positive, occ, out, within)
        elif isinstance(node, Scope):
            self._collect(node.child, frozenset(node.fields), positive, occ, out, within)
        elif isinstance(node, Near):
            spans = self._spans(node, fields, occ)
            for side in (node.left, node.right):
                self._collect(side, fields, positive, occ, out, spans)
        else:
            for child in node.children:
                self._collect(child, fields, positive, occ, out, within)

    # --- scanning ------------------------------------------------------------------------------

    def _scan(
        self, text: ArticleText, language: str | None, occ: dict[int, list[Occurrence]]
    ) -> None:
        words = text.words
        # C-level set operations from here to the for: the article's distinct words are few,
        # and the dict of words that hit is small enough to stay in the processor's cache
        distinct = set(words)
        hits_of = self._lexicon.hits_in(distinct, language)
        hit_words = hits_of.keys() & distinct  # (a keys view iterates the smaller side)
        if not hit_words:
            return
        terms = self._index.terms
        verify = self._index.verify
        names = text.names
        firsts = text.firsts
        # Slots come in order, so the field only ever moves forward.
        field_index, next_field, where = 0, firsts[1], names[0]
        for slot in compress(count(), map(hit_words.__contains__, words)):
            while slot >= next_field:
                field_index += 1
                where, next_field = names[field_index], firsts[field_index + 1]
            for term_id, how in hits_of[words[slot]]:
                last = slot
                if term_id in verify:  # phrases and case-sensitive words: check the context
                    found = self._verify(terms[term_id], term_id, text, slot, next_field, language)
                    if found is None:
                        continue
                    last = found
                found_list = occ.get(term_id)
                if found_list is None:
                    occ[term_id] = [(where, slot, last, how, 0, 0)]
                elif len(found_list) < MAX_OCCURRENCES:
                    found_list.append((where, slot, last, how, 0, 0))

    def _verify(
        self,
        term: Term,
        term_id: int,
        text: ArticleText,
        slot: int,
        field_end: int,
        language: str | None,
    ) -> int | None:
        """The last slot of a confirmed phrase or case-sensitive hit at ``slot``, or None;
        ``field_end`` is the slot just after the field the hit is in."""
        if isinstance(term, Word):
            return slot if cased_equal(text, [slot], (term.cased,)) else None
        assert isinstance(term, Phrase)
        phrase = term.words
        words = text.words
        keys: tuple[frozenset[str], ...] | None = None  # the phrase's family keys, if needed
        slots = [slot]
        at = slot
        for offset in range(1, len(phrase)):  # the next words, past empty slots, in this field
            at += 1
            while at < field_end and not words[at]:
                at += 1
            if at >= field_end:
                return None
            word = words[at]
            if word != phrase[offset]:
                surfaces, forms = self._lexicon.follower(word, language)
                if phrase[offset] not in surfaces:
                    if term.mode != FAMILY:
                        return None
                    if keys is None:
                        families = self._index.family_index(language)
                        keys = families.phrases.get(term_id, ()) if families else ()
                    if not keys or keys[offset].isdisjoint(forms):
                        return None
            slots.append(at)
        if term.mode == CASE and not cased_equal(text, slots, term.cased):
            return None
        return slots[-1]


__all__ = ["RuleSet"]
