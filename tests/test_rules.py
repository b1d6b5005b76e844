"""The rule language subset of the skeleton: words, prefixes, phrases, AND/OR/NOT, parentheses."""

from __future__ import annotations

import re

import pytest

from monitor.rules import Article, QueryError, RuleSet, html_to_text, parse_query, tokenize


def matches(query: str, text: str, *, title: str = "", exclude: str | None = None) -> bool:
    rules = RuleSet.compile([("r", query, exclude)])
    return bool(rules.match(Article(title=title, content=text)))


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("sanksi", "AS menjatuhkan sanksi-sanksi baru", True),
        ("sanksi", "Sanksi baru dijatuhkan", True),
        ("sanksi", "SANKSI!", True),
        ("sanksi", "saksi mata melihatnya", False),
        ("sanksi", "sanksinya berat", False),  # word families by stem come with the full language
        ("Belarus*", "Presiden Belarusia bertemu", True),
        ("Belarus*", "Belarusian officials", True),
        ("Belarus*", "Belanda menang", False),
        ("Belarus", "Belarusia", False),
        ("Lukasenka", "Alaksandr Lukašenka said", True),
        ("belarus AND sanksi", "sanksi untuk Belarus", True),
        ("belarus AND sanksi", "sanksi untuk Rusia", False),
        ("belarus sanksi", "sanksi untuk Belarus", True),  # juxtaposition is AND
        ("belarus OR rusia", "sanksi untuk Rusia", True),
        ("sanksi AND NOT timnas", "sanksi FIFA untuk timnas", False),
        ("sanksi -timnas", "sanksi FIFA untuk timnas", False),
        ("sanksi -timnas", "sanksi untuk pejabat", True),
        ("(belarus OR rusia) AND sanksi", "Rusia kena sanksi", True),
        ("(belarus OR rusia) AND sanksi", "Rusia kena denda", False),
        ('"sepak bola"', "pertandingan sepak bola", True),
        ('"sepak bola"', "bola sepak", False),
        ("covid-19", "kasus COVID-19 naik", True),
        ("covid-19", "covid naik 19 persen", False),
    ],
)
def test_query_table(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_exclude_stops_a_rule() -> None:
    assert not matches("sanksi", "Timnas kena sanksi", exclude="timnas")
    assert matches("sanksi", "Pejabat kena sanksi", exclude="timnas")


def test_hits_quote_the_original_text_with_offsets() -> None:
    text = "Washington telah memberlakukan sanksi-sanksi terhadap para pejabat Belarus."
    rules = RuleSet.compile([("r", "sanksi OR Belarus*", None)])
    [match] = rules.match(Article(content=text))
    assert [(h.text, h.term, h.how) for h in match.hits] == [
        ("sanksi-sanksi", "sanksi", "exact"),
        ("Belarus", "Belarus*", "prefix"),
    ]
    for hit in match.hits:
        assert text[hit.start : hit.end] == hit.text
    assert match.terms == ("sanksi", "Belarus*")


def test_only_positive_terms_are_reported_and_fields_are_kept() -> None:
    rules = RuleSet.compile([("r", "Belarus AND NOT timnas", None)])
    [match] = rules.match(Article(title="Belarus", summary="", content="Belarus lagi"))
    assert [(h.field, h.start) for h in match.hits] == [("title", 0), ("content", 0)]


def test_many_rules_share_terms() -> None:
    rules = RuleSet.compile([(f"r{i}", f"sanksi AND kata{i}", None) for i in range(500)])
    found = rules.match(Article(content="sanksi kata7 dan kata42"))
    assert sorted(m.rule_id for m in found) == ["r42", "r7"]


@pytest.mark.parametrize(
    ("query", "message", "offset"),
    [
        ("a AND b OR c", "AND and OR mixed", 8),
        ("a OR b c", "AND and OR mixed", 7),
        ("(a", "missing closing parenthesis", 0),
        ("a)", "unexpected closing parenthesis", 1),
        ("a OR", "query ends where a term was expected", 4),
        ('"a b', "unterminated quote", 0),
        ("ab*", "at least 3 letters", 0),
        ("NOT a", "no positive term", 0),
        ("a OR NOT b", "no positive term", 0),
        ("", "empty query", 0),
        ("()", "empty parentheses", 0),
        ("a*b", "'*' in 'a*b' is not supported", 1),
    ],
)
def test_query_errors_carry_an_offset(query: str, message: str, offset: int) -> None:
    with pytest.raises(QueryError, match=re.escape(message)) as info:
        parse_query(query)
    assert info.value.offset == offset


def test_and_of_a_positive_and_a_negative_is_allowed() -> None:
    parse_query("a AND NOT b")
    parse_query("(a OR b) -c")


def test_html_to_text_keeps_blocks_apart_and_drops_scripts() -> None:
    html = "<p>Belarus</p><p>sanksi&nbsp;baru</p><script>evil()</script><br>akhir &amp; usai"
    assert html_to_text(html) == "Belarus\n\nsanksi baru\n\nakhir & usai"


def test_tokens_keep_offsets_and_hyphen_parts() -> None:
    [token] = tokenize("  Sanksi-sanksinya")
    assert (token.text, token.start, token.end) == ("sanksi-sanksinya", 2, 18)
    assert token.keys == ("sanksi-sanksinya", "sanksi", "sanksinya")
