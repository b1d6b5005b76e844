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

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from monitor.stages.rules.language import stemmer

VOWELS = frozenset("aeiou")


@dataclass(frozen=True)
class WordOverrides:
    """What users say about word families (the ``words:`` section of the rule files)."""

    keep: frozenset[str] = frozenset()
    join: tuple[frozenset[str], ...] = ()
    split: tuple[frozenset[str], ...] = ()

    @property
    def joined(self) -> dict[str, frozenset[str]]:
        """Each joined word -> all the words of its family."""
        out: dict[str, frozenset[str]] = {}
        for group in self.join:
            for word in group:
                out[word] = out.get(word, frozenset()) | group
        return out


NO_OVERRIDES = WordOverrides()

# --- Indonesian --------------------------------------------------------------------------------

# Frequent words that only look affixed (acronym-words, roots, loans): never stemmed. Each was
# checked by hand; the stripped form is another frequent word, so a rule for that word would
# otherwise fire on them (dana, funds, on every "Perdana Menteri"; selat, strait, on "selatan").
KEEP_ID = frozenset(
    """
    abadi alasan andai balai beranda berita divisi kalian kemarin kemeja kepada kepala masalah
    melayu mereka nilai pandai pemilu pengacara perdana permisi pertama peserta protestan
    ramai santai selatan terapi tetapi usai
    """.split()
)
# Words that Snowball reads two ways, one of them wrong: berikan is beri + -kan (give), not
# ber- + ikan (fish). Each pair is never one family.
SPLIT_ID = (frozenset({"berikan", "ikan"}),)

# Consonants before which the bare prefix me- is written (melihat, merasa, menilai, mewarnai).
_ME_BEFORE = frozenset("lmnrwy")


_DROP_VOWELS = str.maketrans("", "", "aeiou")


def _vowels(word: str) -> int:
    """Snowball's measure: the vowels of the word (deleting them is a C-level translate)."""
    return len(word) - len(word.translate(_DROP_VOWELS))


def snowball_chain(word: str) -> list[str]:
    """The forms Snowball Indonesian goes through, ``word`` first and its stem last.

    Exactly PyStemmer's algorithm, step by step (a test compares the last form with its stem);
    :func:`indonesian_forms` is the corrected version the matcher uses."""
    forms = [word]
    form = _clitics(word, forms, frozenset())
    if form is None:
        return forms
    first = _snowball_first_order(form)
    if first is None:
        _second_order_branch(form, forms, frozenset(), assimilate=False)
        return forms
    lead, rest, prefix = first
    forms.append(lead + rest)
    _after_first_order(lead, rest, prefix, forms, frozenset(), assimilate=False)
    return forms


def _clitics(word: str, forms: list[str], keep: frozenset[str]) -> str | None:
    """Strip a particle, then a possessive; None when stemming stops here."""
    if _vowels(word) <= 2 or word in keep:
        return None
    if word.endswith(("kah", "lah", "pun")):
        word = word[:-3]
        forms.append(word)
        if _vowels(word) <= 2 or word in keep:
            return None
    if word.endswith("nya"):
        word = word[:-3]
    elif word.endswith(("ku", "mu")):
        word = word[:-2]
    else:
        return word
    forms.append(word)
    return None if _vowels(word) <= 2 or word in keep else word


def _snowball_first_order(word: str) -> tuple[str, str, int] | None:
    """(lead, rest, prefix kind) after Snowball's first-order prefix; lead is a restored
    consonant (meny- -> s, mem- + vowel -> p) that the later steps do not look at."""
    if word.startswith("meng"):
        return "", word[4:], 1
    if word.startswith("peng"):
        return "", word[4:], 3
    if word.startswith(("meny", "peny")) and word[4:5] in VOWELS and len(word) > 4:
        return "s", word[4:], 1 if word[0] == "m" else 3
    if word.startswith(("mem", "pem")):
        rest = word[3:]
        return ("p" if rest[:1] in VOWELS and rest else ""), rest, 1 if word[0] == "m" else 3
    if word.startswith("men"):
        return "", word[3:], 1
    if word.startswith("pen"):
        return "", word[3:], 3
    if word.startswith(("di", "me")):
        return "", word[2:], 1
    if word.startswith("ter"):
        return "", word[3:], 1
    if word.startswith("ke"):
        return "", word[2:], 3
    return None


_STOP = ("", "", -1)  # not a prefix: the word is a root


def _assimilated_first_order(word: str) -> list[tuple[str, str, int]] | None:
    """Like :func:`_snowball_first_order`, but each reading Indonesian spelling allows."""
    if word.startswith(("meng", "peng")):
        rest, kind = word[4:], 1 if word[0] == "m" else 3
        if rest[:1] in VOWELS and rest:  # mengambil (ambil), mengirim (kirim)
            return [("", rest, kind), ("k", rest, kind)]
        return [("", rest, kind)]
    if word.startswith(("meny", "peny")) and word[4:5] in VOWELS and len(word) > 4:
        kind = 1 if word[0] == "m" else 3  # menyanksi (sanksi), menyanyi (nyanyi)
        return [("s", word[4:], kind), ("ny", word[4:], kind)]
    if word.startswith(("mem", "pem")):
        rest, kind = word[3:], 1 if word[0] == "m" else 3
        if rest[:1] in VOWELS and rest:  # memukul (pukul), memakan (makan)
            return [("p", rest, kind), ("m", rest, kind)]
        return [("", rest, kind)]
    if word.startswith(("men", "pen")):
        rest, kind = word[3:], 1 if word[0] == "m" else 3
        if rest[:1] in VOWELS and rest:  # menanggapi (tanggapi), menilai (nilai)
            return [("t", rest, kind), ("n", rest, kind)]
        if rest[:1] == "t" and rest[1:2] in VOWELS:  # menteri, penting: t would have dropped
            return [_STOP]
        return [("", rest, kind)]
    if word.startswith("me"):
        return [("", word[2:], 1)] if word[2:3] in _ME_BEFORE else [_STOP]
    if word.startswith("di"):
        return [("", word[2:], 1)]
    if word.startswith("ter"):
        rest = word[3:]
        if rest[:1] in VOWELS and rest:  # terancam (ancam), terasa (rasa)
            return [("", rest, 1), ("r", rest, 1)]
        return [("", rest, 1)]
    if word.startswith("ke"):
        return [("", word[2:], 3)]
    return None


def _after_first_order(
    lead: str,
    rest: str,
    prefix: int,
    forms: list[str],
    keep: frozenset[str],
    *,
    assimilate: bool,
) -> None:
    if lead + rest in keep or _vowels(lead + rest) <= 2:
        return
    stripped = _suffix(rest, prefix)
    if stripped is None:
        return
    forms.append(lead + stripped)
    if lead + stripped in keep or _vowels(lead + stripped) <= 2:
        return
    for second in _second_order(stripped, assimilate=assimilate):
        forms.append(lead + second[0])


def _second_order_branch(
    word: str, forms: list[str], keep: frozenset[str], *, assimilate: bool
) -> None:
    readings = _second_order(word, assimilate=assimilate)
    if not readings:
        readings = [(word, 0)]
    else:
        forms.extend(form for form, _ in readings)
        if assimilate and (stripped := _suffix(word, 0)) is not None and _vowels(stripped) > 1:
            forms.append(stripped)  # the suffix first: beritakan -> berita, berikan -> beri
    for form, prefix in readings:
        if form in keep or _vowels(form) <= 2:
            continue
        stripped = _suffix(form, prefix)
        if stripped is not None:
            forms.append(stripped)


def _suffix(word: str, prefix: int) -> str | None:
    if word.endswith("an"):
        if prefix not in (2, 3) and word.endswith("kan"):
            return word[:-3]
        return None if prefix == 1 else word[:-2]
    if word.endswith("i") and prefix <= 2 and not word.endswith("si"):
        return word[:-1]
    return None


def _second_order(word: str, *, assimilate: bool) -> list[tuple[str, int]]:
    """Readings of ``word`` without ber-/be-/per-/pe- (with the prefix kind they set)."""
    if word.startswith("pe"):
        if word.startswith("per"):
            return _r_readings(word[3:], 2, assimilate)
        if word.startswith("pelajar"):
            return [(word[3:], 0)]
        return [(word[2:], 2)]
    if word.startswith("be"):
        if word.startswith("ber"):
            return _r_readings(word[3:], 4, assimilate)
        if word.startswith("belajar"):
            return [(word[3:], 4)]
        if len(word) > 4 and word[2] not in VOWELS and word[3:5] == "er":  # bekerja
            return [(word[2:], 4)]
    return []


def _r_readings(rest: str, prefix: int, assimilate: bool) -> list[tuple[str, int]]:
    """ber-/per- before a vowel may be be-/pe- + an r root (berencana, perawat)."""
    if assimilate and rest[:1] in VOWELS and rest:
        return [(rest, prefix), ("r" + rest, prefix)]
    return [(rest, prefix)]


_AFFIXED_STARTS = ("di", "ke", "me", "pe", "te", "be")
_AFFIXED_ENDS = ("kah", "lah", "pun", "nya", "ku", "mu", "an", "i")


@cache
def _kept_and_split(
    overrides: WordOverrides,
) -> tuple[frozenset[str], tuple[frozenset[str], ...]]:
    return KEEP_ID | overrides.keep, (*SPLIT_ID, *overrides.split)


def indonesian_forms(word: str, overrides: WordOverrides = NO_OVERRIDES) -> tuple[str, ...]:
    """The forms of an Indonesian article word: ``word``, then what it is built on."""
    if not word.startswith(_AFFIXED_STARTS) and not word.endswith(_AFFIXED_ENDS):
        return (word,)  # most names and roots: no step of the algorithm applies
    keep, split = _kept_and_split(overrides)
    forms = [word]
    form = _clitics(word, forms, keep)
    if form is not None:
        readings = _assimilated_first_order(form)
        if readings is None:
            _second_order_branch(form, forms, keep, assimilate=True)
        else:
            for lead, rest, prefix in readings:
                if prefix < 0:
                    break
                forms.append(lead + rest)
                _after_first_order(lead, rest, prefix, forms, keep, assimilate=True)
    if len(forms) == 1:
        return (word,)
    return _split(tuple(dict.fromkeys(forms)), split)


def _split(forms: tuple[str, ...], groups: Sequence[frozenset[str]]) -> tuple[str, ...]:
    """Drop the forms that a split list keeps apart from an earlier form of the word."""
    dropped: set[str] = set()
    for group in groups:
        first = next((i for i, f in enumerate(forms) if f in group), None)
        if first is not None:
            dropped.update(f for f in forms[first + 1 :] if f in group and f != forms[first])
    return tuple(f for f in forms if f not in dropped) if dropped else forms


def is_inflection_step(word: str, form: str) -> bool:
    """Whether ``form`` is ``word`` without clitics only (-lah, -kah, -pun, -nya, -ku, -mu)."""
    rest = word
    for _ in range(2):
        if rest == form:
            return True
        for ending in ("kah", "lah", "pun", "nya", "ku", "mu"):
            if rest.endswith(ending) and rest[: -len(ending)]:
                rest = rest[: -len(ending)]
                break
    return rest == form


# --- English -----------------------------------------------------------------------------------

# Irregular forms a regular rule cannot make, written out: verbs (past, participle) and nouns.
IRREGULAR_EN: dict[str, tuple[str, ...]] = {
    w.split(":")[0]: tuple(w.split(":")[1].split(","))
    for w in """
    arise:arose,arisen be:is,are,was,were,been,am beat:beaten become:became begin:began,begun
    bite:bit,bitten blow:blew,blown break:broke,broken bring:brought build:built burn:burnt
    buy:bought catch:caught choose:chose,chosen come:came dig:dug do:did,done,does draw:drew,drawn
    drink:drank,drunk drive:drove,driven eat:ate,eaten fall:fell,fallen feed:fed feel:felt
    fight:fought find:found flee:fled fly:flew,flown,flies forbid:forbade,forbidden
    forget:forgot,forgotten forgive:forgave,forgiven freeze:froze,frozen get:got,gotten
    give:gave,given go:went,gone,goes grow:grew,grown hang:hung have:has,had hear:heard
    hide:hid,hidden hold:held keep:kept know:knew,known lay:laid lead:led leave:left lend:lent
    lie:lay,lain lose:lost make:made mean:meant meet:met pay:paid ride:rode,ridden ring:rang,rung
    rise:rose,risen run:ran say:said see:saw,seen seek:sought sell:sold send:sent shake:shook,shaken
    shoot:shot show:shown shrink:shrank,shrunk sing:sang,sung sink:sank,sunk sit:sat sleep:slept
    speak:spoke,spoken spend:spent stand:stood steal:stole,stolen stick:stuck strike:struck
    swear:swore,sworn swim:swam,swum take:took,taken teach:taught tear:tore,torn tell:told
    think:thought throw:threw,thrown understand:understood wake:woke,woken wear:wore,worn
    weep:wept win:won withdraw:withdrew,withdrawn write:wrote,written
    child:children man:men woman:women person:people foot:feet tooth:teeth mouse:mice goose:geese
    good:better,best bad:worse,worst far:further,furthest
    """.split()
}


def _double(word: str) -> bool:
    """Whether a final consonant doubles before -ed/-ing/-er (stop -> stopped): a short word
    ending consonant-vowel-consonant."""
    return (
        len(word) >= 3
        and _vowels(word) == 1
        and word[-1] not in "aeiouwxy"
        and word[-2] in VOWELS
        and word[-3] not in VOWELS
    )


def _regular_en(base: str) -> list[tuple[str, str]]:
    """Regular inflections of ``base`` with English spelling, each with its ending."""
    if not base.isalpha() or len(base) < 2:
        return [(base + "s", "s")]
    out: list[tuple[str, str]] = []
    if base.endswith(("s", "x", "z", "ch", "sh")):
        out.append((base + "es", "s"))
    elif base[-1] == "y" and base[-2] not in VOWELS:
        out.append((base[:-1] + "ies", "s"))
    else:
        out.append((base + "s", "s"))
    if base.endswith("is"):
        out.append((base[:-2] + "es", "s"))  # analysis -> analyses
    if base.endswith("o"):
        out.append((base + "es", "s"))  # embargoes, heroes (and the -s of photos)
    if base[-1] == "e":
        out += [(base + "d", "ed"), (base[:-1] + "ing", "ing"), (base + "r", "er")]
        out += [(base + "st", "est")]
        if base.endswith(("ee", "ye", "oe")):
            out.append((base + "ing", "ing"))
    elif base[-1] == "y" and base[-2] not in VOWELS:
        stem = base[:-1]
        out += [(stem + "ied", "ed"), (base + "ing", "ing"), (stem + "ier", "er")]
        out += [(stem + "iest", "est")]
    else:
        for stem in [base, base + base[-1]] if _double(base) else [base]:
            out += [(stem + "ed", "ed"), (stem + "ing", "ing"), (stem + "er", "er")]
            out += [(stem + "est", "est")]
    return out


def _agent_nouns(base: str) -> list[str]:
    """Candidate agent nouns (protest -> protester, invest -> investor), without doubling."""
    if not base.isalpha() or len(base) < 4:
        return []
    if base[-1] == "e":
        return [base + "r", base[:-1] + "or"]
    return [base + "er", base + "or"]


def _same_porter_stem(a: str, b: str) -> bool:
    found = stemmer("en")
    assert found is not None
    first, second = found.stemWords([a, b])
    return bool(first == second)


def english_forms(
    word: str, lemma_of: Mapping[str, str], overrides: WordOverrides = NO_OVERRIDES
) -> dict[str, str]:
    """The article words an English rule word finds: form -> how it is built ("word",
    "inflection", "agent noun"); ``lemma_of`` is a lemma dictionary (word -> lemma)."""
    keep = overrides.keep
    found = {word: "word"}
    if word in keep or not word.isalpha():
        return found
    base = word
    lemma = lemma_of.get(word)
    if lemma and lemma != word and _regular_en(lemma)[0][0] == word:
        base = lemma  # a plural in a rule stands for its noun: sanctions -> sanction
        found[base] = "inflection"
    irregular = IRREGULAR_EN.get(base, ())
    for form in irregular:
        if form not in keep:
            found.setdefault(form, "inflection")
    for form, ending in _regular_en(base):
        if form == base or form in keep or form in found:
            continue
        # what the dictionary knows decides (united is unite's, news is a word of its own);
        # a form it does not know counts only as a plural (of a name, a new word)
        known = lemma_of.get(form)
        if known == base or (known is None and ending == "s"):
            found[form] = "inflection"
    for agent in _agent_nouns(base):
        # a real word (the dictionary knows it) that keeps the verb's stem: Porter's measure
        # strips -er only after a long enough stem, so protester -> protest but never
        # former -> form, shower -> show; -or only after six letters (investor, not factor)
        if lemma_of.get(agent) != agent or agent in keep:
            continue
        if agent.endswith("er") and not _same_porter_stem(agent, base):
            continue
        if agent.endswith("or") and len(base) < 6:
            continue
        found.setdefault(agent, "agent noun")
        found.setdefault(_regular_en(agent)[0][0], "agent noun")
    return found


def english_lemmas() -> Mapping[str, str]:
    """simplemma's English lemma dictionary (word -> lemma; 170,000 forms). It holds about
    24 MiB, so it is loaded when English families are compiled and then let go."""
    from simplemma.strategies.dictionaries.dictionary_factory import DefaultDictionaryFactory

    return DefaultDictionaryFactory(cache_max_size=0).get_dictionary("en")


# The forms of the rule words seen last, so that a small rule set compiled again (a reload, a
# test) does not load the dictionary again; bounded, a few hundred bytes a word.
_ENGLISH_RECENT: OrderedDict[tuple[str, WordOverrides], tuple[str, ...]] = OrderedDict()
MAX_ENGLISH_RECENT = 4096


def english_keys(words: Sequence[str], overrides: WordOverrides) -> list[tuple[str, ...]]:
    """The English forms of each rule word; the dictionary is let go when they are made."""
    recent = _ENGLISH_RECENT
    missing = [w for w in dict.fromkeys(words) if (w, overrides) not in recent]
    made = {}
    if missing:
        lemmas = english_lemmas()
        made = {w: tuple(english_forms(w, lemmas, overrides)) for w in missing}
        del lemmas
    out = []
    for word in words:
        key = (word, overrides)
        forms = made.get(word) or recent[key]
        recent[key] = forms
        recent.move_to_end(key)
        out.append(forms)
    while len(recent) > MAX_ENGLISH_RECENT:
        recent.popitem(last=False)
    return out


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
