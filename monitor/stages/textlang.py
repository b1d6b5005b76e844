"""Which language a text is clearly in (CLD2), and which codes name one language for matching.

A module of its own, light to import: the parse workers tell each entry's language beside
parsing (:mod:`monitor.stages.facts`), without loading the rule engine. CLD2 is pycld2
(Apache-2.0, its model compiled in: 2 MiB, about 20 µs an entry).
"""

from __future__ import annotations

import re

import pycld2


def base_language(tag: str | None) -> str | None:
    """``id`` from ``id``, ``id-ID``, ``in`` (the old code for Indonesian) or ``ID``."""
    if not tag:
        return None
    code = tag.strip().lower().replace("_", "-").split("-")[0]
    return "id" if code == "in" else (code or None)


_ID_WORDS = frozenset(
    "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke karena oleh telah "
    "sudah bahwa atau kata para mereka adalah tersebut seperti saat masih baru".split()
)
_EN_WORDS = frozenset(
    "the and of to in is that for on with as was by at from this have are be it has not "
    "said were which their an its but they after new".split()
)
_FUNCTION_WORDS = {"id": _ID_WORDS, "en": _EN_WORDS}
_GUESS_WORDS = re.compile(r"[a-z]+")
# Languages whose texts an identifier confuses and whose words match alike: Malay and
# Indonesian share most words and all affixes; CLD2 calls some Indonesian titles Malay.
_KIN = {"ms": "id", "id": "id"}
MIN_LETTERS = 12  # shorter texts say too little to contradict anyone
CLEAR = 90  # percent of the text in one language (CLD2) for the text to overrule a declaration
SHORT_WORDS = 12  # a text of fewer words must also use function words of its language


def detect_language(text: str) -> str | None:
    """The language ``text`` is clearly in (ISO 639-1), or None when it is unclear or short.

    Clear: CLD2 finds one language for at least ``CLEAR`` percent of it and calls that
    reliable. A text under ``SHORT_WORDS`` words decides only Indonesian, Malay or English,
    and only with a function word of that language and none of the other's: CLD2 reads the
    title "Apple Rilis iPhone Baru" as English and "Minsk Lukashenko Belarus" as Nynorsk."""
    sample = text[:2000]
    if sum(c.isalpha() for c in sample) < MIN_LETTERS:
        return None
    try:
        reliable, _, found = pycld2.detect(sample)
    except pycld2.error:
        return None
    name, code, percent, _ = found[0]
    if not reliable or percent < CLEAR or code in ("un", "xxx") or name == "Unknown":
        return None
    code = base_language(code) or code
    words = _GUESS_WORDS.findall(sample.lower())
    if len(words) < SHORT_WORDS:
        own = _FUNCTION_WORDS.get(_KIN.get(code, code))
        if own is None:  # a few names read as Nynorsk: short texts only for id, ms, en
            return None
        other = _EN_WORDS if own is _ID_WORDS else _ID_WORDS
        if not any(w in own for w in words) or any(w in other and w not in own for w in words):
            return None
    return code


def same_language(a: str | None, b: str | None) -> bool:
    """Whether ``a`` and ``b`` are one language for matching (Malay counts as Indonesian)."""
    return a is not None and b is not None and _KIN.get(a, a) == _KIN.get(b, b)
