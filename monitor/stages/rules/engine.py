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

import unicodedata
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress, count
from typing import Final, NamedTuple

import structlog
from rapidfuzz.distance import OSA

from monitor.base.text import NormalText, split_slots
from monitor.stages.rules.families import NO_OVERRIDES, Family, WordOverrides
from monitor.stages.rules.query import (
    CASE,
    EXACT,
    FAMILY,
    MIN_PREFIX,
    And,
    Fuzzy,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    Regex,
    Scope,
    Term,
    Wildcard,
    Word,
    iter_terms,
    parse_query,
)
from monitor.stages.rules.words import reduplication_base, snippet, word_keys

log = structlog.get_logger("newsmon.rules")

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


# An occurrence of a term: (field, first, last, how, a, b). First and last are word slots, global
# over the article's fields (see _Text); a regex hit has slots -1, and a and b are its offsets in
# the field's normal text.
Occurrence = tuple[str, int, int, str, int, int]


class _Occurrences(dict[int, list[Occurrence]]):
    """The occurrences of each term hit in one article, and the article's word slots."""

    __slots__ = ("words",)

    def __init__(self, words: list[str]) -> None:
        super().__init__()
        self.words = words

    def words_between(self, first: int, last: int) -> int:
        """How many words lie strictly between slots ``first`` and ``last`` (first < last)."""
        return last - first - 1 - self.words[first + 1 : last].count("")


Test = Callable[[_Occurrences], bool]
FIELD: Final = 0
FIRST: Final = 1
LAST: Final = 2
_PRIORITY = {"exact": 0, "prefix": 1, "wildcard": 2, "stem": 3, "fuzzy": 4}
MAX_CACHED_WORDS = 200_000


@dataclass
class _Index:
    terms: list[Term] = field(default_factory=list)
    ids: dict[tuple[object, ...], int] = field(default_factory=dict)
    surface: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    prefixes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    scans: list[int] = field(default_factory=list)  # fuzzy terms and short wildcards
    regexes: list[int] = field(default_factory=list)
    verify: set[int] = field(default_factory=set)  # phrases and case-sensitive words
    exact: set[int] = field(default_factory=set)  # = and ! words and phrases
    overrides: WordOverrides = NO_OVERRIDES
    families: dict[str | None, _FamilyIndex | None] = field(default_factory=dict)

    def add(self, term: Term) -> int:
        key = term.key()
        if key in self.ids:
            return self.ids[key]
        term_id = len(self.terms)
        self.ids[key] = term_id
        self.terms.append(term)
        if isinstance(term, Word | Phrase) and term.mode != FAMILY:
            self.exact.add(term_id)
        if isinstance(term, Word):
            self.surface[term.word].append(term_id)
            if term.mode == CASE:
                self.verify.add(term_id)
        elif isinstance(term, Phrase):
            self.surface[term.words[0]].append(term_id)
            self.verify.add(term_id)
        elif isinstance(term, Wildcard) and len(term.literal) >= MIN_PREFIX:
            self.prefixes[term.literal[:MIN_PREFIX]].append(term_id)
        elif isinstance(term, Regex):
            self.regexes.append(term_id)
        else:
            self.scans.append(term_id)
        return term_id

    def family_index(self, language: str | None) -> _FamilyIndex | None:
        """The family terms of ``language`` by their keys, built the first time it is needed
        (None for a language without families: then only the word itself matches)."""
        if language in self.families:
            return self.families[language]
        family = Family(language, self.overrides)
        if family.kind == "none":
            self.families[language] = None
            return None
        words: list[str] = []
        for term in self.terms:
            if isinstance(term, Word) and term.mode == FAMILY:
                words.append(term.word)
            elif isinstance(term, Phrase) and term.mode == FAMILY:
                words.extend(term.words)
        keys_of = family.rule_keys(words)
        index: dict[str, list[int]] = defaultdict(list)
        phrases: dict[int, tuple[frozenset[str], ...]] = {}
        for term_id, term in enumerate(self.terms):
            if isinstance(term, Word) and term.mode == FAMILY:
                for key in keys_of[term.word]:
                    index[key].append(term_id)
            elif isinstance(term, Phrase) and term.mode == FAMILY:
                phrases[term_id] = tuple(frozenset(keys_of[w]) for w in term.words)
                for key in keys_of[term.words[0]]:
                    index[key].append(term_id)
        found = self.families[language] = _FamilyIndex(family, dict(index), phrases)
        return found


@dataclass(frozen=True)
class _FamilyIndex:
    """One language's family terms: index key -> terms, and each family phrase's keys."""

    family: Family
    keys: dict[str, list[int]]
    phrases: dict[int, tuple[frozenset[str], ...]]


@dataclass
class _Text:
    """The scanned fields of one article, joined by blank lines, as one list of word slots.

    A slot holds a word, or is empty where two separators met (see
    :func:`monitor.base.text.split_slots`); empty slots are no words for NEAR and phrases.
    A slot's offset is worked out when a hit quotes it, unless the split gave them all.
    """

    names: list[str]
    normals: list[NormalText]
    words: list[str]  # the slots
    firsts: list[int]  # the first slot of each field, then the number of slots
    bases: list[int]  # where each field starts in the joined normal text
    starts: list[int] | None  # where each slot starts in the joined normal text, if known
    # slots whose offset was worked out, in order, and their offsets: slot 0 starts at 0
    known: list[int] = field(default_factory=lambda: [0])
    known_offsets: list[int] = field(default_factory=lambda: [0])
    quoted: dict[tuple[int, int], tuple[str, int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, fields: Sequence[tuple[str, str]]) -> _Text:
        normals, joined = NormalText.of_many([text for _, text in fields], "\n\n")
        bases = [0]
        for normal in normals[:-1]:
            bases.append(bases[-1] + len(normal.normal) + 2)
        words, starts, firsts = split_slots(joined, bases)
        firsts.append(len(words))
        return cls([name for name, _ in fields], normals, words, firsts, bases, starts)

    def field_index(self, slot: int) -> int:
        return bisect_right(self.firsts, slot) - 1

    def offset(self, slot: int) -> int:
        """Where ``slot`` starts in the joined normal text.

        Worked out from the nearest slot before it whose offset is known: each slot is
        followed by one separator. However the quotes come, all of them together sum the
        lengths of the slots once at most."""
        if self.starts is not None:
            return self.starts[slot]
        at = bisect_right(self.known, slot) - 1
        before = self.known[at]
        offset = self.known_offsets[at]
        if before != slot:  # (joining is quicker than summing the lengths in Python)
            offset += len(" ".join(self.words[before:slot])) + 1
            self.known.insert(at + 1, slot)
            self.known_offsets.insert(at + 1, offset)
        return offset

    def quote(self, first: int, last: int) -> tuple[str, int, int]:
        """(original text, start, end) of slots ``first`` to ``last`` of one field."""
        found = self.quoted.get((first, last))  # a word often hits several terms
        if found is None:
            found = self.quoted[first, last] = self._quote(first, last)
        return found

    def _quote(self, first: int, last: int) -> tuple[str, int, int]:
        index = self.field_index(first)
        normal = self.normals[index]
        base = self.bases[index]
        start = self.offset(first)
        if self.starts is not None:
            end = self.starts[last] + len(self.words[last])
        else:  # the slots from first to last and the separators between them
            end = start + len(" ".join(self.words[first : last + 1]))
        start -= base
        end -= base
        if not normal.aligned:
            start, end = normal.original_span(start, end)
        return normal.original[start:end], start, end


class RuleSet:
    """Rules ready to match; build with :meth:`compile` or :meth:`build`.

    What each distinct word means to the index (its hits through surface forms, stems,
    prefixes, typos) is computed once and cached per language, up to ``MAX_CACHED_WORDS``.
    """

    def __init__(self, rules: Sequence[CompiledRule], index: _Index) -> None:
        self.rules = tuple(rules)
        self._index = index
        self._prefix_heads = frozenset(index.prefixes)
        self._rules_by_term: dict[int, list[int]] = defaultdict(list)
        self._followers: dict[str | None, dict[str, tuple[tuple[str, ...], set[str]]]] = {}
        self._seen: dict[str | None, set[str]] = {}
        self._hits_of: dict[str | None, dict[str, tuple[tuple[int, str], ...]]] = {}
        shared: dict[int, int] = defaultdict(int)  # term -> how many rules it is positive in
        for rule in self.rules:
            for term_id in rule.positive_terms:
                shared[term_id] += 1
        fields: set[str] = set(TEXT_FIELDS)
        for rule in self.rules:
            # A rule is looked at only when one of its triggers occurs: terms one of which any
            # article it matches must contain, preferring terms that fewer rules share.
            triggers = _triggers(rule.definition.query, index.ids, shared)
            for term_id in rule.positive_terms if triggers is None else triggers:
                self._rules_by_term[term_id].append(rule.index)
            fields.update(rule.definition.fields)
            for tree in (rule.definition.query, rule.definition.exclude):
                fields.update(_scoped_fields(tree))
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
        index = _Index(overrides=overrides)
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
                    positive if _is_simple(definition) else None,
                )
            )
        return cls(rules, index)

    # --- matching ------------------------------------------------------------------------------

    def match(self, article: Article) -> list[Match]:
        """The rules ``article`` satisfies, in rule order, each with its hits."""
        fields = [(name, value) for name in self._fields if (value := article.field(name))]
        if not fields:
            return []
        text = _Text.of(fields)
        occurrences = _Occurrences(text.words)
        self._scan(text, article.language, occurrences)
        for index_, normal in enumerate(text.normals):
            for term_id in self._index.regexes:
                _scan_regex(
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
                            term_hits[term_id] = _term_hits(
                                term_id, occurrences[term_id], text, terms
                            )
                        hits += term_hits[term_id]
                if len(rule.simple) > 1:
                    hits = tuple(sorted(hits, key=_hit_order))
                matches.append(Match(rule.id, hits))
                continue
            else:
                scope = rule.definition.fields
                found = [
                    (t, o) for t in rule.simple for o in occurrences.get(t, ()) if o[FIELD] in scope
                ]
            if found:
                matches.append(Match(rule.id, _hits(found, text, terms)))
        return matches

    def _evaluate(
        self, rule: CompiledRule, article: Article, occ: _Occurrences
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
        self, node: Node, fields: frozenset[str], occ: _Occurrences
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
        occ: _Occurrences,
        out: list[tuple[int, Occurrence]],
        within: list[tuple[str, int, int]] | None = None,
    ) -> None:
        """The occurrences of positive terms that made the rule fire."""
        if isinstance(node, Term):
            if not positive:
                return
            term_id = self._index.ids[node.key()]
            for o in occ.get(term_id, ()):
                if o[FIELD] in fields and (within is None or _inside(o, within)):
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

    def _scan(self, text: _Text, language: str | None, occ: dict[int, list[Occurrence]]) -> None:
        words = text.words
        seen = self._seen.get(language)
        if seen is None:
            seen = self._seen[language] = {""}  # an empty slot hits nothing
            self._hits_of[language] = {}
        hits_of = self._hits_of[language]  # the words seen that hit a term -> their hits
        # C-level set operations from here to the for: the article's distinct words are few,
        # and the dict of words that hit is small enough to stay in the processor's cache
        distinct = set(words)
        new = distinct.difference(seen)
        if new:
            if len(seen) + len(new) > MAX_CACHED_WORDS:
                seen.clear()
                seen.add("")
                hits_of.clear()
                self._followers.pop(language, None)
                new = distinct - seen
            seen.update(new)
            hits_of.update(found for found in self._learn(new, language) if found[1])
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

    def _learn(
        self, words: Iterable[str], language: str | None
    ) -> Iterator[tuple[str, tuple[tuple[int, str], ...]]]:
        """Work out which terms each new word hits and how, once per word and language."""
        index = self._index
        keys_of = {w: (w, *word_keys(w, language)) for w in words}
        all_keys = list({k for keys in keys_of.values() for k in keys})
        families = index.family_index(language)
        forms_of: dict[str, tuple[str, ...]] = {}
        if families is not None:
            forms_of = dict(zip(all_keys, families.family.article_keys(all_keys), strict=True))
        key_hits: dict[str, list[tuple[int, str]]] = {}
        for key in all_keys:
            hits = [(t, "exact") for t in index.surface.get(key, ())]
            if families is not None:
                for form in forms_of[key]:
                    hits += [(t, "stem") for t in families.keys.get(form, ())]
            if key[:MIN_PREFIX] in self._prefix_heads:
                for t in index.prefixes[key[:MIN_PREFIX]]:
                    wildcard = index.terms[t]
                    assert isinstance(wildcard, Wildcard)
                    if wildcard.compiled.match(key):
                        hits.append((t, "prefix"))
            for t in index.scans:
                how = _scan_key(index.terms[t], key)
                if how:
                    hits.append((t, how))
            if hits:
                key_hits[key] = hits
        for word, keys in keys_of.items():
            best: dict[int, str] = {}
            base = reduplication_base(word, language) if len(keys) > 1 else None
            for key in keys:
                for term_id, how in key_hits.get(key, ()):
                    if key == base and how == "exact" and term_id not in index.exact:
                        how = "stem"  # RULES.md: a reduplication is in the base word's family
                    if term_id not in best or _PRIORITY[how] < _PRIORITY[best[term_id]]:
                        best[term_id] = how
            for term_id in [t for t, how in best.items() if how != "exact"]:
                if term_id in index.exact:
                    del best[term_id]  # = and ! terms never match by stem
            yield word, tuple(best.items())

    def _verify(
        self, term: Term, term_id: int, text: _Text, slot: int, field_end: int, language: str | None
    ) -> int | None:
        """The last slot of a confirmed phrase or case-sensitive hit at ``slot``, or None;
        ``field_end`` is the slot just after the field the hit is in."""
        if isinstance(term, Word):
            return slot if _cased_equal(text, [slot], (term.cased,)) else None
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
                surfaces, forms = self._follower(word, language)
                if phrase[offset] not in surfaces:
                    if term.mode != FAMILY:
                        return None
                    if keys is None:
                        families = self._index.family_index(language)
                        keys = families.phrases.get(term_id, ()) if families else ()
                    if not keys or keys[offset].isdisjoint(forms):
                        return None
            slots.append(at)
        if term.mode == CASE and not _cased_equal(text, slots, term.cased):
            return None
        return slots[-1]

    def _follower(self, word: str, language: str | None) -> tuple[tuple[str, ...], set[str]]:
        """The keys of a word that follows the first word of a phrase, and their forms."""
        known = self._followers.setdefault(language, {})
        found = known.get(word)
        if found is None:
            keys = (word, *word_keys(word, language))
            families = self._index.family_index(language)
            forms: set[str] = set()
            if families is not None:
                for key_forms in families.family.article_keys(list(keys)):
                    forms.update(key_forms)
            found = known[word] = keys, forms
        return found


def _triggers(
    node: Node, ids: Mapping[tuple[object, ...], int], shared: Mapping[int, int]
) -> frozenset[int] | None:
    """Terms one of which occurs in every article ``node`` holds for (None if there are none,
    as for a NOT), choosing among the children of an AND the terms fewest rules share."""
    if isinstance(node, Term):
        return frozenset((ids[node.key()],))
    if isinstance(node, Not):
        return None
    if isinstance(node, Scope):
        return _triggers(node.child, ids, shared)
    if isinstance(node, Or):
        parts = [_triggers(child, ids, shared) for child in node.children]
        return None if None in parts else frozenset().union(*parts)  # type: ignore[arg-type]
    children = (node.left, node.right) if isinstance(node, Near) else node.children
    choices = [found for c in children if (found := _triggers(c, ids, shared)) is not None]
    if not choices:
        return None
    return min(choices, key=lambda terms: (sum(shared[t] for t in terms), len(terms)))


def _is_simple(definition: RuleDefinition) -> bool:
    """A rule that fires on any occurrence of its terms: no filters, no structure to evaluate."""
    tree = definition.query
    plain = isinstance(tree, Term) or (
        isinstance(tree, Or) and all(isinstance(c, Term) for c in tree.children)
    )
    return (
        plain
        and definition.exclude is None
        and not (definition.languages or definition.sources or definition.exclude_sources)
    )


def _scoped_fields(tree: Node | None) -> set[str]:
    if tree is None:
        return set()
    if isinstance(tree, Scope):
        return set(tree.fields) | _scoped_fields(tree.child)
    if isinstance(tree, Not):
        return _scoped_fields(tree.child)
    if isinstance(tree, Near):
        return _scoped_fields(tree.left) | _scoped_fields(tree.right)
    if isinstance(tree, And | Or):
        return set().union(*(_scoped_fields(c) for c in tree.children))
    return set()


def _cased_equal(text: _Text, slots: Sequence[int], cased: Sequence[str]) -> bool:
    for slot, wanted in zip(slots, cased, strict=True):
        quoted, _, _ = text.quote(slot, slot)
        original = unicodedata.normalize("NFKC", quoted)
        if original != wanted and wanted not in original.replace("'", "-").split("-"):
            return False
    return True


def _scan_key(term: Term, key: str) -> str | None:
    if isinstance(term, Fuzzy):
        if abs(len(key) - len(term.word)) > term.edits:
            return None
        distance = OSA.distance(term.word, key, score_cutoff=term.edits)
        if distance > term.edits:
            return None
        return "exact" if distance == 0 else "fuzzy"
    if isinstance(term, Wildcard) and term.compiled.match(key):
        return "wildcard"
    return None


def _scan_regex(
    name: str, normal: NormalText, term_id: int, term: Term, occ: dict[int, list[Occurrence]]
) -> None:
    assert isinstance(term, Regex)
    try:
        for n, m in enumerate(term.compiled.finditer(normal.normal, timeout=REGEX_TIMEOUT)):
            if n >= MAX_OCCURRENCES:
                break
            if m.end() > m.start():
                occ.setdefault(term_id, []).append((name, -1, -1, "regex", m.start(), m.end()))
    except TimeoutError:
        log.warning("rules.regex_timeout", term=term.source, field=name)


def _inside(o: Occurrence, spans: list[tuple[str, int, int]]) -> bool:
    return any(f == o[FIELD] and first <= o[FIRST] and o[LAST] <= last for f, first, last in spans)


def _term_hits(
    term_id: int,
    found: list[Occurrence],
    text: _Text,
    terms: Sequence[Term],
) -> tuple[Hit, ...]:
    """The hits of one term: its occurrences are already in field and position order, which
    is the order of the hits."""
    source = terms[term_id].source
    if len(found) == 1 and found[0][FIRST] >= 0:
        where, first, last, how, _, _ = found[0]
        quoted, start, end = text.quote(first, last)
        return (Hit(where, quoted, start, end, source, how),)
    hits: dict[tuple[str, int, int], Hit] = {}
    for where, first, last, how, a, b in found:
        if first >= 0:
            quoted, start, end = text.quote(first, last)
        else:
            quoted, start, end = _quote_regex(text, where, a, b)
        if (where, start, end) not in hits:  # two words can come from one character (½)
            hits[where, start, end] = Hit(where, quoted, start, end, source, how)
    return tuple(hits.values())


def _hits(
    found: list[tuple[int, Occurrence]],
    text: _Text,
    terms: Sequence[Term],
) -> tuple[Hit, ...]:
    if len(found) == 1:  # the common case: one word hit once
        term_id, (where, first, last, how, _, _) = found[0]
        if first >= 0:
            quoted, start, end = text.quote(first, last)
            return (Hit(where, quoted, start, end, terms[term_id].source, how),)
    hits: dict[tuple[str, int, int, str], Hit] = {}
    for term_id, (where, first, last, how, a, b) in found:
        if first >= 0:
            quoted, start, end = text.quote(first, last)
        else:
            quoted, start, end = _quote_regex(text, where, a, b)
        source = terms[term_id].source
        key = (where, start, end, source)
        if key not in hits:
            hits[key] = Hit(where, quoted, start, end, source, how)
    if len(hits) == 1:
        return tuple(hits.values())
    return tuple(sorted(hits.values(), key=_hit_order))


def _quote_regex(text: _Text, where: str, a: int, b: int) -> tuple[str, int, int]:
    """(original text, start, end) of a regex hit at ``a:b`` in the normal text of a field."""
    normal = text.normals[text.names.index(where)]
    start, end = normal.original_span(a, b)
    return normal.original[start:end], start, end


_FIELD_ORDER = {name: i for i, name in enumerate(ALL_FIELDS)}


def _hit_order(hit: Hit) -> tuple[int, int, str]:
    return _FIELD_ORDER[hit.field], hit.start, hit.term


__all__ = ["EXACT", "Article", "CompiledRule", "Hit", "Match", "RuleDefinition", "RuleSet"]
