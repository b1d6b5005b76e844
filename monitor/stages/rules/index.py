"""The term index: every rule term once, by the keys an article word can hit it through
(surface form, family key, prefix), and the terms that need a scan or a second look."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from monitor.stages.rules.families import Family
from monitor.stages.rules.nodes import (
    CASE,
    FAMILY,
    MIN_PREFIX,
    Fuzzy,
    Phrase,
    Regex,
    Term,
    Wildcard,
    Word,
)
from monitor.stages.rules.overrides import NO_OVERRIDES, WordOverrides


@dataclass
class TermIndex:
    terms: list[Term] = field(default_factory=list)
    ids: dict[tuple[object, ...], int] = field(default_factory=dict)
    surface: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    prefixes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    scans: list[int] = field(default_factory=list)  # fuzzy terms and short wildcards
    regexes: list[int] = field(default_factory=list)
    verify: set[int] = field(default_factory=set)  # phrases and case-sensitive words
    exact: set[int] = field(default_factory=set)  # = and ! words and phrases
    overrides: WordOverrides = NO_OVERRIDES
    families: dict[str | None, FamilyIndex | None] = field(default_factory=dict)

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

    def family_index(self, language: str | None) -> FamilyIndex | None:
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
        found = self.families[language] = FamilyIndex(family, dict(index), phrases)
        return found


@dataclass(frozen=True)
class FamilyIndex:
    """One language's family terms: index key -> terms, and each family phrase's keys."""

    family: Family
    keys: dict[str, list[int]]
    phrases: dict[int, tuple[frozenset[str], ...]]


def scan_key(term: Term, key: str) -> str | None:
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
