"""Article languages: which the text is in, and which Snowball stemmer a language has.

The language an article is matched in is decided by :func:`decide_language`: a language the user
configured for the feed wins; otherwise what the feed or entry declares, unless the text clearly
says otherwise (many CMSs are left at ``en-US`` over Indonesian articles); otherwise what the
text says; otherwise the configured default. The text is read by CLD2 (pycld2, Apache-2.0,
its model compiled in: 2 MiB, about 20 µs an entry). Word families (:mod:`.families`) use the
Snowball stemmers in PyStemmer (C) for the steps they take; an unknown language gets none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pycld2
import Stemmer

# ISO 639-1 codes of the languages PyStemmer has a Snowball stemmer for.
ALGORITHMS = {
    "id": "indonesian",
    "en": "english",
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "eo": "esperanto",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "fa": "persian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
STEMMED = ("id", "en")  # the languages --explain describes families in


def base_language(tag: str | None) -> str | None:
    """``id`` from ``id``, ``id-ID``, ``in`` (the old code for Indonesian) or ``ID``."""
    if not tag:
        return None
    code = tag.strip().lower().replace("_", "-").split("-")[0]
    return "id" if code == "in" else (code or None)


@cache
def stemmer(language: str | None) -> Stemmer.Stemmer | None:
    """The stemmer of ``language``, without a cache of its own: the matcher stems each word
    once and keeps what the word means to the rules, so a second cache of 100,000 stems would
    only spread the hot data over more memory."""
    algorithm = ALGORITHMS.get(language or "")
    return Stemmer.Stemmer(algorithm, 0) if algorithm else None


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


@dataclass(frozen=True)
class LanguageDecision:
    """The language an article is matched in, and what it was decided from."""

    used: str | None
    declared: str | None = None  # by the feed or the entry
    detected: str | None = None  # from the text, when the text was clear
    reason: str = "none"  # configured | declared | detected | default | none

    def describe(self) -> str:
        parts = [f"{self.used or 'unknown, no stemming'} ({self.reason})"]
        if self.declared and self.declared != self.used:
            parts.append(f"declared {self.declared}")
        if self.detected and self.detected != self.used:
            parts.append(f"text reads as {self.detected}")
        return "; ".join(parts)


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


def decide_language(
    text: str,
    declared: str | None,
    configured: str | None = None,
    default: str | None = None,
) -> LanguageDecision:
    """The language an article is matched in (see the module docstring)."""
    declared = base_language(declared)
    detected = detect_language(text)
    if configured := base_language(configured):
        return LanguageDecision(configured, declared, detected, "configured")
    if declared and (detected is None or same_language(declared, detected)):
        return LanguageDecision(declared, declared, detected, "declared")
    if detected:
        return LanguageDecision(detected, declared, detected, "detected")
    if default := base_language(default):
        return LanguageDecision(default, declared, detected, "default")
    return LanguageDecision(None, declared, detected)
