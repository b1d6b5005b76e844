"""Word families: which article words a plain rule word finds, in each language (RULES.md).

A plain word finds **the word itself and the words built on it**, never the other words built on
its root. Comparing stems cannot do that: Snowball Indonesian strips ``pendapatan`` (income) to
``dapat`` (can, get), so a revenue rule would fire on most of the news. The relation here is
directed: an article word W is in the family of a rule word R when R is one of W's *forms*.

Indonesian (``id``; Malay, ``ms``, shares its affixes): the forms of W are the steps of the
Snowball Indonesian algorithm (particles, possessives, a first-order prefix, a suffix, a
second-order prefix), recorded one by one: ``pendapatannya`` → pendapatan → dapatan → dapat.
``pendapat`` is not among them, so the rule ``pendapat`` does not find ``pendapatan``, and
``pendapatan`` does not find ``dapat`` (dapat's only form is itself). Two corrections make the
steps trustworthy where Snowball guesses:

- a nasal prefix is read as Indonesian assimilates it: ``men-``/``pen-`` before a vowel dropped
  a ``t`` or is ``me-`` + ``n`` (menanggapi → tanggapi, menilai → nilai; never Snowball's
  "anggapi", which made menanggapi the family of ``anggap``), ``mem-``/``pem-`` before a vowel
  dropped a ``p`` or is ``me-`` + ``m`` (memakan → pakan or makan), ``meny-``/``peny-`` an
  ``s`` or ``ny``, ``meng-``/``peng-`` a ``k`` or nothing; ``men-`` before ``t`` + vowel and
  ``me-`` before anything but l, m, n, r, w, y are no prefix at all (menteri, media);
- words that only look affixed are never stemmed (:data:`KEEP_ID`: ``pemilu``, an acronym of
  pemilihan umum, is not pe- + pilu; ``berita`` is not ber- + ita), and users add their own
  (``words: keep:`` in the rule files).

English (``en``): the forms a rule word R finds are generated when the rules are compiled: its
inflections (plural, possessive, verb forms, comparatives, irregular forms from a table) and its
agent nouns (protest → protester, protesters), each checked against a lemma dictionary
(simplemma's, loaded only while compiling): ``united`` is a form of unite, not of unit; ``news``
is not the plural of new. Derivations that only share a Porter stem are not generated:
Protestant, organization and statement are not in the families of protest, organ and state.

Other Snowball languages keep stem equality (PyStemmer), as before; unknown languages get the
word itself. User overrides (:class:`WordOverrides`): ``keep`` words are never stemmed (and so
leave their root's family), ``join`` lists make one family, ``split`` lists are never one family.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.stages.rules.english import english_keys
from monitor.stages.rules.indonesian import indonesian_forms
from monitor.stages.rules.language import stemmer
from monitor.stages.rules.overrides import NO_OVERRIDES, WordOverrides

# --- per-language families as the matcher uses them ------------------------------------------

INDONESIAN = ("id", "ms")


@dataclass
class Family:
    """How one language's families are keyed: rule words give index keys, article words
    give lookup keys, and a word is in a rule word's family when the two share a key."""

    language: str | None
    overrides: WordOverrides = NO_OVERRIDES

    @property
    def kind(self) -> str:
        if self.language in INDONESIAN:
            return "indonesian"
        if self.language == "en":
            return "english"
        return "stem" if stemmer(self.language) is not None else "none"

    def rule_keys(self, words: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Index keys of each rule word (joined words share all of theirs)."""
        words = list(dict.fromkeys(words))
        joined = self.overrides.joined
        every = list(dict.fromkeys([*words, *(m for w in words for m in joined.get(w, ()))]))
        own = dict(zip(every, self._own_keys(every), strict=True))
        out = {}
        for word in words:
            keys = list(own[word])
            for member in sorted(joined.get(word, ())):
                keys += own[member]
            out[word] = tuple(dict.fromkeys(keys))
        return out

    def _own_keys(self, words: list[str]) -> list[tuple[str, ...]]:
        kind = self.kind
        if kind == "indonesian" or kind == "none":
            return [(w,) for w in words]
        if kind == "english":
            return english_keys(words, self.overrides)
        found = stemmer(self.language)
        assert found is not None
        stems = found.stemWords(words)
        return [
            (w,) if w in self.overrides.keep else (s,) for w, s in zip(words, stems, strict=True)
        ]

    def article_keys(self, words: list[str]) -> list[tuple[str, ...]]:
        """Lookup keys of each article word (its forms, for Indonesian)."""
        kind = self.kind
        if kind == "indonesian":
            return [indonesian_forms(w, self.overrides) for w in words]
        if kind == "stem":
            found = stemmer(self.language)
            assert found is not None
            keep = self.overrides.keep
            stems = found.stemWords(words)
            return [(w,) if w in keep else (s,) for w, s in zip(words, stems, strict=True)]
        return [(w,) for w in words]


__all__ = ["NO_OVERRIDES", "Family", "WordOverrides", "english_keys", "indonesian_forms"]
