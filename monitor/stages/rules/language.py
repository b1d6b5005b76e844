"""Article languages: which stemmer a language gets, and a guess when a feed does not say.

Stems come from the Snowball stemmers in PyStemmer (C): the Indonesian one
makes ``disanksi``, ``menyanksi`` and ``sanksinya`` the ``sanksi`` family. Rule terms and article
words of one language go through the same stemmer, so consistency matters more than linguistic
truth. An unknown language gets no stemming.
"""

from __future__ import annotations

import re
from functools import cache

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
STEMMED = ("id", "en")  # rule terms are pre-stemmed for these; others are stemmed on first use


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


def stem_words(words: list[str], language: str | None) -> list[str] | None:
    """Stems of ``words`` in ``language``; None when the language has no stemmer."""
    found = stemmer(language)
    return found.stemWords(words) if found else None


_ID_WORDS = frozenset(
    "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke karena oleh telah "
    "sudah bahwa atau kata para mereka adalah tersebut seperti saat masih".split()
)
_EN_WORDS = frozenset(
    "the and of to in is that for on with as was by at from this have are be it has not "
    "said were which their an its but they after".split()
)
_GUESS_WORDS = re.compile(r"[a-z]+")


def guess_language(text: str) -> str | None:
    """``id`` or ``en`` when the function words leave no doubt, else None (no stemming)."""
    words = _GUESS_WORDS.findall(text[:4000].lower())
    indonesian = sum(1 for w in words if w in _ID_WORDS)
    english = sum(1 for w in words if w in _EN_WORDS)
    if max(indonesian, english) < 4:
        return None
    if indonesian >= 2 * english:
        return "id"
    if english >= 2 * indonesian:
        return "en"
    return None
