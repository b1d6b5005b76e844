"""Text as the matcher sees it: HTML turned into plain text, then words with their offsets.

The same folding applies to article text and to rule terms, so a rule and an article always agree
on what a word is. Offsets point into the plain text of the field, which is what alerts quote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# A word, with hyphenated parts kept together (sanksi-sanksi, pejabat-pejabatnya).
_WORD = re.compile(r"\w+(?:[-\u2010\u2011]\w+)*")
_HYPHENS = re.compile(r"[-\u2010\u2011]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, blocks on their own lines."""
    if "<" not in html and "&" not in html:
        return _tidy(html)
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return _tidy("".join(extractor.parts))


def _tidy(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def fold(word: str) -> str:
    """Compatibility-normalise, case-fold and drop diacritics (Lukašenka -> lukasenka)."""
    text = unicodedata.normalize("NFKC", word).casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


@dataclass(frozen=True, slots=True)
class Token:
    """One word: its folded form, its character span, its word position, and its match keys.

    ``keys`` holds the whole folded word and, for a hyphenated word, each of its parts, so that
    ``sanksi`` finds ``sanksi-sanksi`` while the hit still quotes the whole word.
    """

    text: str
    start: int
    end: int
    position: int
    keys: tuple[str, ...]


def tokenize(text: str) -> list[Token]:
    """The words of ``text`` with their offsets into ``text``."""
    tokens = []
    for i, m in enumerate(_WORD.finditer(text)):
        word = fold(m.group())
        parts = _HYPHENS.split(word)
        keys = (word, *dict.fromkeys(p for p in parts if p)) if len(parts) > 1 else (word,)
        tokens.append(Token(word, m.start(), m.end(), i, keys))
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
