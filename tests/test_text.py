"""Text normalisation: properties that must hold for any text (hypothesis), and known traps."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.base.text import (
    NormalText,
    fold,
    fold_runs,
    html_to_text,
    split_words,
    split_words_regex,
)
from monitor.stages.rules.words import Words, tokenize, word_keys

# Text drawn from all of Unicode, and text biased toward the characters that make trouble.
TRICKY = (
    "AaÉéŁłİıßẞſﬁﬀ½①ＡＢ\u00ad\u200b\u200d\u2060\ufeff\u0301\u030c\u2010\u2011\u2013\u2014"
    "’‘“”„«»'\"-2 "
)
any_text = st.text(max_size=200)
tricky_text = st.text(alphabet=st.sampled_from(TRICKY + "sanksiBelarus"), max_size=80)


@settings(max_examples=400)
@given(st.one_of(any_text, tricky_text))
def test_folding_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@settings(max_examples=400)
@given(st.one_of(any_text, tricky_text))
def test_word_offsets_point_at_the_original_text_they_came_from(text: str) -> None:
    normal = NormalText.of(text)
    words = Words.of(normal)
    for i, word in enumerate(words.words):
        quoted, start, end = words.quote(i)
        assert 0 <= start <= end <= len(text)
        assert quoted == text[start:end]
        folded = fold(quoted)
        assert word in folded
        if all(len(fold(c)) <= 1 for c in quoted):
            assert folded == word  # exact unless a character expands (½ -> 1⁄2)


@settings(max_examples=200)
@given(st.one_of(any_text, tricky_text))
def test_ascii_fast_path_agrees_with_the_general_path(text: str) -> None:
    ascii_text = text.encode("ascii", "ignore").decode()
    general = "".join(fold(c) if not c.isascii() else fold(c + "é")[:-1] for c in ascii_text)
    assert fold(ascii_text) == general


@settings(max_examples=400)
@given(st.one_of(any_text, tricky_text, st.text(alphabet=st.sampled_from("aB ’”–é\u00adß½"))))
def test_replacing_characters_in_turn_agrees_with_folding_run_by_run(text: str) -> None:
    assert fold(text) == fold_runs(text)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("Lukašenka", "lukasenka"),
        ("ＢＥＬＡＲＵＳ", "belarus"),
        ("Belaruſ", "belarus"),
        ("ﬁnansial", "finansial"),
        ("İstanbul", "istanbul"),
        ("Straße", "strasse"),
        ("sank\u00adsi", "sanksi"),
        ("Belarus\u200b", "belarus"),
        ("sanksi\u2011sanksi", "sanksi-sanksi"),
        ("sanksi–sanksi", "sanksi-sanksi"),
        ("perang—damai", "perang damai"),
        ("“Belarus” ‘sanksi’", "\"belarus\" 'sanksi'"),
        ("Jum’at", "jum'at"),
        ("Lukas\u030cenka", "lukasenka"),
        ("Belarus\u00a0sanksi", "belarus sanksi"),
    ],
)
def test_known_unicode_traps(text: str, normal: str) -> None:
    assert fold(text) == normal


@pytest.mark.parametrize(
    ("word", "language", "keys"),
    [
        ("sanksi-sanksi", "id", ("sanksi",)),
        ("pejabat-pejabatnya", "id", ("pejabat", "pejabatnya")),
        ("sanksi2", "id", ("sanksi",)),
        ("sanksi2", "en", ()),
        ("kata42", "id", ()),
        ("covid-19", None, ("covid", "19")),
        ("belarus's", "en", ("belarus",)),
        ("jum'at", "id", ()),
        ("sanksi", "id", ()),
    ],
)
def test_reduplication_and_parts(word: str, language: str | None, keys: tuple[str, ...]) -> None:
    assert word_keys(word, language) == keys


def test_tokens_carry_original_offsets() -> None:
    text = "  Sanksi-sanksinya dijatuhkan"
    first, second = tokenize(text, "id")
    assert (first.text, first.start, first.end) == ("sanksi-sanksinya", 2, 18)
    assert first.keys == ("sanksi-sanksinya", "sanksi", "sanksinya")
    assert text[second.start : second.end] == "dijatuhkan"


def test_the_seed_article_survives_normalisation(seed_article: str) -> None:
    words = Words.of(NormalText.of(seed_article))
    assert "sanksi-sanksi" in words.words
    assert unicodedata.is_normalized("NFKC", fold(seed_article))


def test_html_to_text_keeps_blocks_apart_and_drops_scripts() -> None:
    html = "<p>Belarus</p><p>sanksi&nbsp;baru</p><script>evil()</script><br>akhir &amp; usai"
    assert html_to_text(html) == "Belarus\n\nsanksi baru\n\nakhir & usai"


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from("ab1_ -'.,\"\n\t(!)?é"), max_size=60))
def test_the_fast_word_split_agrees_with_the_regex(text: str) -> None:
    """The translate-and-split path and the regex give the same words and offsets."""
    normal = fold(text)
    assert split_words(normal) == split_words_regex(normal)


@settings(max_examples=300)
@given(st.lists(st.one_of(any_text, tricky_text), min_size=1, max_size=3))
def test_folding_fields_together_equals_folding_each(texts: list[str]) -> None:
    normals, joined = NormalText.of_many(texts, "\n\n")
    assert [n.normal for n in normals] == [fold(t) for t in texts]
    assert joined == "\n\n".join(fold(t) for t in texts)
    for normal in normals:
        assert normal.original_span(0, len(normal.normal)) == NormalText.of(
            normal.original
        ).original_span(0, len(normal.normal))
