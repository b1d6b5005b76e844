"""Indonesian (and Malay) word forms: the steps of the Snowball Indonesian algorithm, one by
one, with nasal prefixes read as the language assimilates them (see :mod:`.families`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from monitor.stages.rules.overrides import NO_OVERRIDES, WordOverrides
from monitor.stages.rules.words import VOWELS, vowel_count

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
    if vowel_count(word) <= 2 or word in keep:
        return None
    if word.endswith(("kah", "lah", "pun")):
        word = word[:-3]
        forms.append(word)
        if vowel_count(word) <= 2 or word in keep:
            return None
    if word.endswith("nya"):
        word = word[:-3]
    elif word.endswith(("ku", "mu")):
        word = word[:-2]
    else:
        return word
    forms.append(word)
    return None if vowel_count(word) <= 2 or word in keep else word


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
    if lead + rest in keep or vowel_count(lead + rest) <= 2:
        return
    stripped = _suffix(rest, prefix)
    if stripped is None:
        return
    forms.append(lead + stripped)
    if lead + stripped in keep or vowel_count(lead + stripped) <= 2:
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
        if assimilate and (stripped := _suffix(word, 0)) is not None and vowel_count(stripped) > 1:
            forms.append(stripped)  # the suffix first: beritakan -> berita, berikan -> beri
    for form, prefix in readings:
        if form in keep or vowel_count(form) <= 2:
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
