"""Words as the matcher keys them: hyphen and apostrophe parts, Indonesian reduplication
(``sanksi-sanksi``, ``pejabat-pejabatnya``, informal ``sanksi2``), tokens and snippets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.base.text import NormalText, split_words

VOWELS = frozenset("aeiou")
_DROP_VOWELS = str.maketrans("", "", "aeiou")


def vowel_count(word: str) -> int:
    """Snowball's measure: the vowels of the word (deleting them is a C-level translate)."""
    return len(word) - len(word.translate(_DROP_VOWELS))


_REDUP_DIGIT = re.compile(r"^([^\W\d_]{3,})2$")  # letters only: sanksi2, not kata42


def word_keys(word: str, language: str | None) -> tuple[str, ...]:
    """Match keys of a normalised word beyond the word itself: parts, reduplication base,
    possessive-free form. Empty for a plain word (the common case)."""
    keys: list[str] = []
    if "'" in word:
        bare = word[:-2] if word.endswith("'s") else word
        keys += [bare, *(p for p in bare.split("'") if p)] if bare != word else []
    if "-" in word:
        keys += [p for p in word.split("-") if p]
    elif language == "id" and word.endswith("2"):
        match = _REDUP_DIGIT.match(word)
        if match:
            keys.append(match.group(1))
    return tuple(dict.fromkeys(k for k in keys if k != word))


def reduplication_base(word: str, language: str | None) -> str | None:
    """The base of a reduplicated normal word (``sanksi`` of ``sanksi-sanksi``, ``pejabat`` of
    ``pejabat-pejabatnya``, and of the informal ``sanksi2`` in Indonesian), else None."""
    if "-" in word:
        first, _, second = word.partition("-")
        return first if first and "-" not in second and second.startswith(first) else None
    if language == "id" and word.endswith("2"):
        match = _REDUP_DIGIT.match(word)
        return match.group(1) if match else None
    return None


@dataclass
class Words:
    """The words of one normalised field with their start offsets."""

    text: NormalText
    words: list[str]
    starts: list[int]

    @classmethod
    def of(cls, text: NormalText) -> Words:
        words, starts = split_words(text.normal)
        return cls(text, words, starts)

    def span(self, first: int, last: int | None = None) -> tuple[int, int]:
        """Original offsets covering words ``first`` to ``last`` (inclusive)."""
        last = first if last is None else last
        return self.text.original_span(
            self.starts[first], self.starts[last] + len(self.words[last])
        )

    def quote(self, first: int, last: int | None = None) -> tuple[str, int, int]:
        start, end = self.span(first, last)
        return self.text.original[start:end], start, end


@dataclass(frozen=True, slots=True)
class Token:
    """One word with its original span and position (for explanations and tests)."""

    text: str
    start: int
    end: int
    position: int
    keys: tuple[str, ...]


def tokenize(text: str, language: str | None = None) -> list[Token]:
    """The words of ``text`` with their original offsets and match keys."""
    words = Words.of(NormalText.of(text))
    tokens = []
    for i, word in enumerate(words.words):
        start, end = words.span(i)
        tokens.append(Token(word, start, end, i, (word, *word_keys(word, language))))
    return tokens


def snippet(text: str, start: int, end: int, width: int = 60) -> str:
    """The words around ``text[start:end]``, with ellipses where it was cut."""
    left = max(0, start - width)
    right = min(len(text), end + width)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    body = " ".join(text[left:right].split())
    return f"{'…' if left > 0 else ''}{body}{'…' if right < len(text) else ''}"
