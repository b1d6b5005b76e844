"""Text as newsmon reads it, the same for article text, rule terms and story sketches.

A field's plain text (HTML turned into text by :func:`html_to_text`) is normalised one
character at a time: compatibility forms (NFKC: full-width, ligatures), format characters
dropped (soft hyphen, zero-width), dash and quote variants unified, case folded, diacritics
folded (Lukašenka = Lukasenka). Because the mapping is per character it is idempotent and every
normalised character knows the original character it came from, so a hit quotes the original
text with exact offsets.

Words are runs of letters and digits joined by hyphens or apostrophes (``sanksi-sanksi``,
``jum'at``); :func:`split_slots` finds them with C-level string operations.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser
from itertools import accumulate, compress
from operator import add

# --- HTML to text --------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


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


# --- per-character normalisation -----------------------------------------------------------

_HYPHENS = "\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d\u00ad"  # soft hyphen is dropped below
_SEPARATOR_DASHES = "\u2014\u2015\u2e3a\u2e3b"
_APOSTROPHES = "\u2018\u2019\u201a\u201b\u02bc\u2032\u00b4"  # never ASCII: ASCII maps to itself
_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e"


def _fold_once(text: str) -> str:
    out = []
    for c in unicodedata.normalize("NFKC", text):
        if unicodedata.category(c) == "Cf":
            continue
        if c in _HYPHENS:
            c = "-"
        elif c in _SEPARATOR_DASHES:
            c = " "
        elif c in _APOSTROPHES:
            c = "'"
        elif c in _QUOTES:
            c = '"'
        out.append(c)
    folded = "".join(out).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _fold_char(c: str) -> str:
    """The normal form of one character: folding repeated until nothing changes."""
    if c == "\u00ad":  # soft hyphen: a format character (Cf), but be explicit
        return ""
    result = _fold_once(c)
    for _ in range(4):
        again = _fold_once(result)
        if again == result:
            break
        result = again
    return result


class _FoldTable(dict[int, str]):
    """``str.translate`` table computed on first use of each character."""

    def __init__(self) -> None:
        super().__init__()
        self.non_unit: set[str] = set()
        self._non_unit_re: re.Pattern[str] | None = None

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        if len(folded) != 1:
            self.non_unit.add(chr(code))
            self._non_unit_re = None
        return folded

    def shifts_offsets(self, text: str) -> bool:
        """True if ``text`` (already translated once) has a character that is not 1:1."""
        if not self.non_unit:
            return False
        if self._non_unit_re is None:
            self._non_unit_re = re.compile("[" + re.escape("".join(sorted(self.non_unit))) + "]")
        return self._non_unit_re.search(text) is not None


_TABLE = _FoldTable()


_NON_ASCII = re.compile(r"([^\x00-\x7f]+)")
_NON_ASCII_CHAR = re.compile(r"[^\x00-\x7f]")


def fold(text: str) -> str:
    """The normal form of ``text`` (idempotent; same for articles and rule terms).

    ASCII folds to its lower case. Text whose other characters all fold to ASCII (curly quotes,
    dashes, accented letters: most news) has each of them replaced in turn (found with a search
    from the last one, replaced everywhere with str.replace), then is lowered whole; otherwise
    only the runs of other characters go through the table (a translate over a dict subclass
    costs tens of microseconds per article).
    """
    if text.isascii():
        return text.lower()
    replaced, at = text, 0
    while found := _NON_ASCII_CHAR.search(replaced, at):
        folded = _TABLE[ord(found.group())]
        if not folded.isascii():
            break
        # the text before the character is ASCII, and stays where it is
        replaced, at = replaced.replace(found.group(), folded), found.start()
    else:
        return replaced.lower()
    return fold_runs(text)


def fold_runs(text: str) -> str:
    """The normal form of ``text``, lowering its ASCII runs and translating the others."""
    parts = _NON_ASCII.split(text)
    parts[0::2] = [part.lower() for part in parts[0::2]]
    parts[1::2] = [part.translate(_TABLE) for part in parts[1::2]]
    return "".join(parts)


@dataclass(frozen=True)
class NormalText:
    """A field's original text, its normal form, and the map between their offsets."""

    original: str
    normal: str
    aligned: bool = False  # known to map one character to one character

    @classmethod
    def of(cls, text: str) -> NormalText:
        return cls(text, fold(text))

    @classmethod
    def of_many(cls, texts: list[str], separator: str) -> tuple[list[NormalText], str]:
        """Each text's normal form and all of them joined, folding the joined text once."""
        joined = separator.join(texts)
        normal = fold(joined)
        if len(normal) != len(joined) or (not joined.isascii() and _TABLE.shifts_offsets(joined)):
            normals = [cls.of(text) for text in texts]
            return normals, separator.join(n.normal for n in normals)
        normals, at = [], 0
        for text in texts:
            normals.append(cls(text, normal[at : at + len(text)], aligned=True))
            at += len(text) + len(separator)
        return normals, normal

    @cached_property
    def _starts(self) -> list[int] | None:
        """``starts[i]``: the original offset of normal character ``i`` (None: identical)."""
        if self.aligned or self.original.isascii() or not _TABLE.shifts_offsets(self.original):
            return None
        starts = []
        for offset, c in enumerate(self.original):
            starts.extend([offset] * len(_TABLE[ord(c)]))
        starts.append(len(self.original))
        return starts

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the normal text ``normal[start:end]``."""
        starts = self._starts
        if starts is None:
            return start, end
        first = starts[start]
        last = starts[end - 1] + 1 if end > start else first
        return first, last


# --- words ---------------------------------------------------------------------------------

# A word: letters/digits, possibly joined by hyphens or apostrophes (sanksi-sanksi, jum'at).
WORD = re.compile(r"(\w+(?:['-]\w+)*)")


# ASCII characters that separate words (everything but letters, digits, _, - and ').
_SEPARATORS = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) in "_-'")}


def split_words_regex(normal: str) -> tuple[list[str], list[int]]:
    """Words of a normal text and their start offsets, by the definitive regex."""
    pieces = WORD.split(normal)  # [gap, word, gap, word, ..., gap]
    return pieces[1::2], list(accumulate(map(len, pieces), initial=0))[1:-1:2]


def split_words(normal: str) -> tuple[list[str], list[int]]:
    """Words of a normal text and their start offsets."""
    slots, starts, _ = split_slots(normal)
    if starts is not None:
        return slots, starts
    return list(filter(None, slots)), list(compress(slot_starts(slots), slots))


def split_slots(
    normal: str, cuts: Sequence[int] = ()
) -> tuple[list[str], list[int] | None, list[int]]:
    """The words of a normal text as slots, their start offsets when already known, and for
    each offset in ``cuts`` (the start of a text joined to the others) the slot it begins at.

    Most normal text is ASCII (folding strips accents and unifies quotes); there, separators
    become spaces with a C-level translate and splitting at each space gives the words, with an
    empty slot wherever two separators meet, several times faster than the regex. A slot's
    offset is the length of the slots before it plus one separator after each, worked out only
    for the few slots that are quoted (None is returned for the offsets). Text where a hyphen or
    an apostrophe is not between two word characters takes the regex, which gives the same words
    without empty slots and with their offsets.
    """
    if normal.isascii():
        spaced = normal.translate(_SEPARATORS)
        if _joins_words_only(spaced):
            # the slot that begins at a cut has one separator before it for each slot before it
            return spaced.split(" "), None, [spaced.count(" ", 0, cut) for cut in cuts]
    words, starts = split_words_regex(normal)
    return words, starts, [bisect_left(starts, cut) for cut in cuts]


def slot_starts(slots: list[str]) -> list[int]:
    """The offset of every slot that :func:`split_slots` gave without offsets."""
    # slot i starts after the slots before it and one separator for each of them
    return list(map(add, accumulate(map(len, slots), initial=0), range(len(slots))))


def _joins_words_only(spaced: str) -> bool:
    """Whether every hyphen and apostrophe in ``spaced`` stands between two word characters."""
    last = len(spaced) - 1
    for mark in "'-":
        at = spaced.find(mark)
        while at != -1:
            if at in (0, last) or spaced[at - 1] in " '-" or spaced[at + 1] in " '-":
                return False
            at = spaced.find(mark, at + 1)
    return True
