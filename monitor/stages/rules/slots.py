"""An article's scanned fields as word slots, the occurrences of terms in them, and the
hits quoted from them with exact offsets into the original text."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import structlog

from monitor.base.text import NormalText, split_slots
from monitor.stages.rules.model import ALL_FIELDS, MAX_OCCURRENCES, REGEX_TIMEOUT, Hit
from monitor.stages.rules.nodes import Regex, Term

log = structlog.get_logger("newsmon.rules")

# An occurrence of a term: (field, first, last, how, a, b). First and last are word slots,
# global over the article's fields (see ArticleText); a regex hit has slots -1, and a and b are
# its offsets in the field's normal text.
Occurrence = tuple[str, int, int, str, int, int]


class Occurrences(dict[int, list[Occurrence]]):
    """The occurrences of each term hit in one article, and the article's word slots."""

    __slots__ = ("words",)

    def __init__(self, words: list[str]) -> None:
        super().__init__()
        self.words = words

    def words_between(self, first: int, last: int) -> int:
        """How many words lie strictly between slots ``first`` and ``last`` (first < last)."""
        return last - first - 1 - self.words[first + 1 : last].count("")


Test = Callable[[Occurrences], bool]
FIELD: Final = 0
FIRST: Final = 1
LAST: Final = 2


@dataclass
class ArticleText:
    """The scanned fields of one article, joined by blank lines, as one list of word slots.

    A slot holds a word, or is empty where two separators met (see
    :func:`monitor.base.text.split_slots`); empty slots are no words for NEAR and phrases.
    A slot's offset is worked out when a hit quotes it, unless the split gave them all.
    """

    names: list[str]
    normals: list[NormalText]
    words: list[str]  # the slots
    firsts: list[int]  # the first slot of each field, then the number of slots
    bases: list[int]  # where each field starts in the joined normal text
    starts: list[int] | None  # where each slot starts in the joined normal text, if known
    # slots whose offset was worked out, in order, and their offsets: slot 0 starts at 0
    known: list[int] = field(default_factory=lambda: [0])
    known_offsets: list[int] = field(default_factory=lambda: [0])
    quoted: dict[tuple[int, int], tuple[str, int, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, fields: Sequence[tuple[str, str]]) -> ArticleText:
        normals, joined = NormalText.of_many([text for _, text in fields], "\n\n")
        bases = [0]
        for normal in normals[:-1]:
            bases.append(bases[-1] + len(normal.normal) + 2)
        words, starts, firsts = split_slots(joined, bases)
        firsts.append(len(words))
        return cls([name for name, _ in fields], normals, words, firsts, bases, starts)

    def field_index(self, slot: int) -> int:
        return bisect_right(self.firsts, slot) - 1

    def offset(self, slot: int) -> int:
        """Where ``slot`` starts in the joined normal text.

        Worked out from the nearest slot before it whose offset is known: each slot is
        followed by one separator. However the quotes come, all of them together sum the
        lengths of the slots once at most."""
        if self.starts is not None:
            return self.starts[slot]
        at = bisect_right(self.known, slot) - 1
        before = self.known[at]
        offset = self.known_offsets[at]
        if before != slot:  # (joining is quicker than summing the lengths in Python)
            offset += len(" ".join(self.words[before:slot])) + 1
            self.known.insert(at + 1, slot)
            self.known_offsets.insert(at + 1, offset)
        return offset

    def quote(self, first: int, last: int) -> tuple[str, int, int]:
        """(original text, start, end) of slots ``first`` to ``last`` of one field."""
        found = self.quoted.get((first, last))  # a word often hits several terms
        if found is None:
            found = self.quoted[first, last] = self._quote(first, last)
        return found

    def _quote(self, first: int, last: int) -> tuple[str, int, int]:
        index = self.field_index(first)
        normal = self.normals[index]
        base = self.bases[index]
        start = self.offset(first)
        if self.starts is not None:
            end = self.starts[last] + len(self.words[last])
        else:  # the slots from first to last and the separators between them
            end = start + len(" ".join(self.words[first : last + 1]))
        start -= base
        end -= base
        if not normal.aligned:
            start, end = normal.original_span(start, end)
        return normal.original[start:end], start, end


def cased_equal(text: ArticleText, slots: Sequence[int], cased: Sequence[str]) -> bool:
    for slot, wanted in zip(slots, cased, strict=True):
        quoted, _, _ = text.quote(slot, slot)
        original = unicodedata.normalize("NFKC", quoted)
        if original != wanted and wanted not in original.replace("'", "-").split("-"):
            return False
    return True


def scan_regex(
    name: str, normal: NormalText, term_id: int, term: Term, occ: dict[int, list[Occurrence]]
) -> None:
    assert isinstance(term, Regex)
    try:
        for n, m in enumerate(term.compiled.finditer(normal.normal, timeout=REGEX_TIMEOUT)):
            if n >= MAX_OCCURRENCES:
                break
            if m.end() > m.start():
                occ.setdefault(term_id, []).append((name, -1, -1, "regex", m.start(), m.end()))
    except TimeoutError:
        log.warning("rules.regex_timeout", term=term.source, field=name)


def inside(o: Occurrence, spans: list[tuple[str, int, int]]) -> bool:
    return any(f == o[FIELD] and first <= o[FIRST] and o[LAST] <= last for f, first, last in spans)


def quote_term(
    term_id: int,
    found: list[Occurrence],
    text: ArticleText,
    terms: Sequence[Term],
) -> tuple[Hit, ...]:
    """The hits of one term: its occurrences are already in field and position order, which
    is the order of the hits."""
    source = terms[term_id].source
    if len(found) == 1 and found[0][FIRST] >= 0:
        where, first, last, how, _, _ = found[0]
        quoted, start, end = text.quote(first, last)
        return (Hit(where, quoted, start, end, source, how),)
    hits: dict[tuple[str, int, int], Hit] = {}
    for where, first, last, how, a, b in found:
        if first >= 0:
            quoted, start, end = text.quote(first, last)
        else:
            quoted, start, end = quote_regex(text, where, a, b)
        if (where, start, end) not in hits:  # two words can come from one character (½)
            hits[where, start, end] = Hit(where, quoted, start, end, source, how)
    return tuple(hits.values())


def quote_hits(
    found: list[tuple[int, Occurrence]],
    text: ArticleText,
    terms: Sequence[Term],
) -> tuple[Hit, ...]:
    if len(found) == 1:  # the common case: one word hit once
        term_id, (where, first, last, how, _, _) = found[0]
        if first >= 0:
            quoted, start, end = text.quote(first, last)
            return (Hit(where, quoted, start, end, terms[term_id].source, how),)
    hits: dict[tuple[str, int, int, str], Hit] = {}
    for term_id, (where, first, last, how, a, b) in found:
        if first >= 0:
            quoted, start, end = text.quote(first, last)
        else:
            quoted, start, end = quote_regex(text, where, a, b)
        source = terms[term_id].source
        key = (where, start, end, source)
        if key not in hits:
            hits[key] = Hit(where, quoted, start, end, source, how)
    if len(hits) == 1:
        return tuple(hits.values())
    return tuple(sorted(hits.values(), key=hit_order))


def quote_regex(text: ArticleText, where: str, a: int, b: int) -> tuple[str, int, int]:
    """(original text, start, end) of a regex hit at ``a:b`` in the normal text of a field."""
    normal = text.normals[text.names.index(where)]
    start, end = normal.original_span(a, b)
    return normal.original[start:end], start, end


_FIELD_ORDER = {name: i for i, name in enumerate(ALL_FIELDS)}


def hit_order(hit: Hit) -> tuple[int, int, str]:
    return _FIELD_ORDER[hit.field], hit.start, hit.term
