"""Word families over a real vocabulary: what ``check`` warns about and ``--explain`` shows.

The vocabulary and its frequencies come from wordfreq (Apache-2.0 code; its data, CC-BY-SA,
is read from the installed package, never copied). Loading it costs about 40 MiB and a fifth
of a second, so only the commands that need it import this module; the daemon never does.

A family is worth a warning when it brings in frequent words of their own beyond the rule
word's inflections: ``adil`` (fair) also finds pengadilan (court) and keadilan (justice),
``perintah`` (order) finds pemerintah (government), ``usaha`` (effort) perusahaan (company).
Those are nouns derived from the root (peN-, pe-, per-, ke-, -an; English agent nouns), which
often take a meaning of their own; verbs built on a root (meN-, di-, ter-, ber-: menyanksi,
disanksi) keep its meaning and never warn. The threshold, :data:`FREQUENT`, keeps ordinary
families quiet: a derived noun rarer than one word in 30,000 (penyanksian, protesters) is no
surprise, and nouns such as sanksi, pendapatan, pemilu, korupsi or gempa have none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from monitor.stages.rules.english import english_forms, english_lemmas
from monitor.stages.rules.families import INDONESIAN
from monitor.stages.rules.indonesian import indonesian_forms, is_inflection_step
from monitor.stages.rules.language import stemmer
from monitor.stages.rules.overrides import WordOverrides

VOCABULARY = 60_000  # the most frequent words of a language looked at
FREQUENT = 4.5  # Zipf frequency (log10 of occurrences per billion words): one in 30,000 words
SAMPLE = 8


@cache
def vocabulary(language: str) -> tuple[str, ...]:
    """The language's most frequent words, most frequent first (letters only)."""
    import wordfreq

    code = "id" if language in INDONESIAN else language
    return tuple(w for w in wordfreq.top_n_list(code, VOCABULARY) if w.isalpha())


def zipf(word: str, language: str) -> float:
    import wordfreq

    code = "id" if language in INDONESIAN else language
    return float(wordfreq.zipf_frequency(word, code))


@cache
def _indonesian_index(overrides: WordOverrides) -> dict[str, list[str]]:
    """Each form -> the vocabulary words built on it (most frequent first)."""
    index: dict[str, list[str]] = defaultdict(list)
    for word in vocabulary("id"):
        for form in indonesian_forms(word, overrides):
            index[form].append(word)
    return index


@dataclass(frozen=True)
class Member:
    """A word a rule word finds, and how: "inflection", "verb", "noun" or "agent noun"."""

    word: str
    kind: str

    @property
    def derived_noun(self) -> bool:
        return self.kind in ("noun", "agent noun")


def members(word: str, language: str, overrides: WordOverrides) -> list[Member]:
    """The vocabulary words in ``word``'s family (besides itself), most frequent first."""
    joined = overrides.joined.get(word, frozenset({word}))
    found: dict[str, Member] = {}
    for root in sorted(joined, key=lambda w: w != word):
        if language in INDONESIAN:
            for other in _indonesian_index(overrides).get(root, ()):
                if other != word:
                    found.setdefault(other, Member(other, _indonesian_kind(other, root)))
        elif language == "en":
            known = set(vocabulary("en"))
            for form, how in english_forms(root, english_lemmas(), overrides).items():
                if form != word and form in known:
                    kind = "agent noun" if how == "agent noun" else "inflection"
                    found.setdefault(form, Member(form, kind))
    rank = {w: i for i, w in enumerate(vocabulary(language))}
    return sorted(found.values(), key=lambda m: rank.get(m.word, len(rank)))


def _indonesian_kind(word: str, root: str) -> str:
    """ "inflection" (the root with clitics: sanksinya), "noun" (pengadilan, bantuan) or
    "verb" (menyanksi, disanksi, bertahan)."""
    if is_inflection_step(word, root):
        return "inflection"
    bare = word
    while bare.endswith(("nya", "lah", "kah", "pun", "ku", "mu")) and bare != root:
        bare = bare[: -3 if bare.endswith(("nya", "lah", "kah", "pun")) else -2]
    if bare.endswith(("kan", "i")):  # dapatkan, pelajari
        return "verb"
    if bare.startswith(("pe", "ke")):
        return "noun"
    if bare.endswith("an") and not bare.startswith(("me", "di", "ter", "ber")):
        return "noun"
    return "verb"


def near_misses(word: str, language: str, overrides: WordOverrides) -> list[str]:
    """Vocabulary words that share ``word``'s Snowball stem but are not in its family: what
    a stemmer would have matched and the family deliberately does not."""
    found = stemmer(language)
    if found is None:
        return []
    stem = found.stemWord(word)
    inside = {m.word for m in members(word, language, overrides)} | {word}
    out = []
    for other in vocabulary(language):
        if other not in inside and found.stemWord(other) == stem:
            out.append(other)
            if len(out) >= SAMPLE:
                break
    return out


def surprising(word: str, language: str, overrides: WordOverrides) -> list[tuple[str, float]]:
    """Derived nouns in the family frequent enough to be words of their own, with their Zipf."""
    out = []
    for member in members(word, language, overrides):
        if member.derived_noun and (frequency := zipf(member.word, language)) >= FREQUENT:
            out.append((member.word, frequency))
    return out


def family_warning(word: str, languages: Iterable[str], overrides: WordOverrides) -> str | None:
    """The ``check`` warning for a rule word, or None when its families are ordinary."""
    found: dict[str, float] = {}
    for language in languages:
        for member, frequency in surprising(word, language, overrides):
            found.setdefault(member, frequency)
    if not found:
        return None
    named = ", ".join(sorted(found, key=lambda w: -found[w])[:SAMPLE])
    return (
        f"{word} also finds {named}, frequent words of their own built on it; to leave them "
        f"out, list them under words: keep in a rule file, or write ={word} for the word alone"
    )


def describe_family(
    word: str, language: str, overrides: WordOverrides, *, name: bool = False
) -> dict[str, object]:
    """How ``word``'s family is built in ``language``, a sample of the words it finds and of
    near words it deliberately does not (for ``test-rules --explain``): words of the
    vocabulary, then words made with the language's affixes that the matcher finds."""
    finds = [m.word for m in members(word, language, overrides)[:SAMPLE]]
    for made in made_words(word, language, overrides, name=name):
        if len(finds) >= SAMPLE:
            break
        if made not in finds:
            finds.append(made)
    return {
        "language": language,
        "built": how_built(word, language, overrides),
        "finds": finds,
        "not": near_misses(word, language, overrides),
    }


def _nasal(prefix: str, root: str) -> str:
    """meN- or peN- (``prefix`` "me" or "pe") on ``root``, assimilated as Indonesian spells it."""
    first = root[:1]
    if first in "aeiou" or first in "gh" or root.startswith("kh"):
        return prefix + "ng" + root
    if first == "k":
        return prefix + "ng" + root[1:]
    if first == "t":
        return prefix + "n" + root[1:]
    if first in "dcjz":
        return prefix + "n" + root
    if first == "s":
        return prefix + "ny" + root[1:]
    if first == "p":
        return prefix + "m" + root[1:]
    if first in "bfv":
        return prefix + "m" + root
    return prefix + root


def made_words(
    word: str, language: str, overrides: WordOverrides, *, name: bool = False
) -> list[str]:
    """Words made from ``word`` with common affixes that the matcher puts in its family
    (clitics and reduplication only for a ``name``, or a word that looks derived already)."""
    from monitor.stages.rules.engine import RuleSet
    from monitor.stages.rules.model import Article, RuleDefinition
    from monitor.stages.rules.nodes import Word

    if language in INDONESIAN:
        made = [f"{word}-{word}", f"{word}2", word + "nya", word + "lah"]
        derived = word.startswith(("me", "pe", "di", "ke", "ber", "ter")) or word.endswith("an")
        if not name and not derived:
            made += ["di" + word, _nasal("me", word), _nasal("pe", word) + "an"]
            made += ["ke" + word + "an", "ber" + word, word + "kan"]
    elif language == "en":
        made = [word + "'s"]
    else:
        return []
    rules = RuleSet.build([RuleDefinition("x", Word(word, 0, word))], overrides)
    return [w for w in made if rules.match(Article(content=w, language=language))]


def how_built(word: str, language: str, overrides: WordOverrides) -> str:
    if word in overrides.keep:
        return "kept as written (words: keep): the word and its inflections"
    joined = sorted(overrides.joined.get(word, frozenset()) - {word})
    extra = f"; joined with {', '.join(joined)} (words: join)" if joined else ""
    if language in INDONESIAN:
        return (
            "the word and the words built on it: clitics (-nya, -lah), reduplication, "
            "affixes (di-, meN-, peN-...-an, ke-...-an, ber-, ter-, -kan, -i)" + extra
        )
    if language == "en":
        return "the word, its inflections and agent nouns" + extra
    return "words with the same Snowball stem" + extra
