"""What each distinct word means to the term index: the terms it hits (through its surface
form, its family keys, a prefix or typos) and how, worked out once per word and language and
kept, up to ``MAX_CACHED_WORDS``: news vocabulary repeats, so an article costs a set difference
against the words seen and a lookup in the small dict of words that hit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from monitor.stages.rules.index import TermIndex, scan_key
from monitor.stages.rules.nodes import MIN_PREFIX, Wildcard
from monitor.stages.rules.words import reduplication_base, word_keys

# How a word hits a term, best first: one word hitting a term several ways keeps the best.
PRIORITY = {"exact": 0, "prefix": 1, "wildcard": 2, "stem": 3, "fuzzy": 4}
MAX_CACHED_WORDS = 200_000
Hits = tuple[tuple[int, str], ...]


class Lexicon:
    """The words seen so far, per language, and the hits of those that hit a term."""

    def __init__(self, index: TermIndex) -> None:
        self._index = index
        self.prefix_heads = frozenset(index.prefixes)
        self.seen: dict[str | None, set[str]] = {}
        self.hits: dict[str | None, dict[str, Hits]] = {}
        self.followers: dict[str | None, dict[str, tuple[tuple[str, ...], set[str]]]] = {}

    def hits_in(self, distinct: set[str], language: str | None) -> dict[str, Hits]:
        """The words seen in ``language`` that hit a term, with their hits, after learning the
        new ones among ``distinct`` (a full cache starts again)."""
        seen = self.seen.get(language)
        if seen is None:
            seen = self.seen[language] = {""}  # an empty slot hits nothing
            self.hits[language] = {}
        hits_of = self.hits[language]
        new = distinct.difference(seen)
        if new:
            if len(seen) + len(new) > MAX_CACHED_WORDS:
                seen.clear()
                seen.add("")
                hits_of.clear()
                self.followers.pop(language, None)
                new = distinct - seen
            seen.update(new)
            hits_of.update(found for found in self.learn(new, language) if found[1])
        return hits_of

    def learn(
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
            if key[:MIN_PREFIX] in self.prefix_heads:
                for t in index.prefixes[key[:MIN_PREFIX]]:
                    wildcard = index.terms[t]
                    assert isinstance(wildcard, Wildcard)
                    if wildcard.compiled.match(key):
                        hits.append((t, "prefix"))
            for t in index.scans:
                how = scan_key(index.terms[t], key)
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
                    if term_id not in best or PRIORITY[how] < PRIORITY[best[term_id]]:
                        best[term_id] = how
            for term_id in [t for t, how in best.items() if how != "exact"]:
                if term_id in index.exact:
                    del best[term_id]  # = and ! terms never match by stem
            yield word, tuple(best.items())

    def follower(self, word: str, language: str | None) -> tuple[tuple[str, ...], set[str]]:
        """The keys of a word that follows the first word of a phrase, and their forms."""
        known = self.followers.setdefault(language, {})
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
