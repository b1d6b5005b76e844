"""Article languages: which the text is in, and which Snowball stemmer a language has.

The language an article is matched in is decided by :func:`decide_language`: a language the user
configured for the feed wins; otherwise what the feed or entry declares, unless the text clearly
says otherwise (many CMSs are left at ``en-US`` over Indonesian articles); otherwise what the
text says; otherwise the configured default. The text is read by CLD2 in
:mod:`monitor.stages.textlang`, where the entry was parsed. Word families (:mod:`.families`)
use the Snowball stemmers in PyStemmer (C) for the steps they take; an unknown language gets
none.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import Stemmer

from monitor.stages.textlang import base_language as base_language
from monitor.stages.textlang import detect_language as detect_language
from monitor.stages.textlang import same_language as same_language

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


@cache
def stemmer(language: str | None) -> Stemmer.Stemmer | None:
    """The stemmer of ``language``, without a cache of its own: the matcher stems each word
    once and keeps what the word means to the rules, so a second cache of 100,000 stems would
    only spread the hot data over more memory."""
    algorithm = ALGORITHMS.get(language or "")
    return Stemmer.Stemmer(algorithm, 0) if algorithm else None


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


def decide_language(
    detected: str | None,
    declared: str | None,
    configured: str | None = None,
    default: str | None = None,
) -> LanguageDecision:
    """The language an article is matched in (see the module docstring), ``detected`` being
    what its text clearly is (:func:`detect_language`, read where the entry was parsed)."""
    declared = base_language(declared)
    if configured := base_language(configured):
        return LanguageDecision(configured, declared, detected, "configured")
    if declared and (detected is None or same_language(declared, detected)):
        return LanguageDecision(declared, declared, detected, "declared")
    if detected:
        return LanguageDecision(detected, declared, detected, "detected")
    if default := base_language(default):
        return LanguageDecision(default, declared, detected, "default")
    return LanguageDecision(None, declared, detected)
