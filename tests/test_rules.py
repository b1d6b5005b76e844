"""The watch-rule language of RULES.md, construct by construct, as tables (matching is pure)."""

from __future__ import annotations

import re
import time

import pytest
from structlog.testing import capture_logs

from monitor.stages.rules import Article, QueryError, RuleDefinition, RuleSet, parse_query
from monitor.stages.rules.model import REGEX_TIMEOUT, CompiledRule
from monitor.stages.rules.nodes import (
    CASE,
    EXACT,
    FAMILY,
    And,
    Fuzzy,
    Near,
    Not,
    Or,
    Phrase,
    Regex,
    Scope,
    Wildcard,
    Word,
)
from monitor.stages.rules.query import lint_query


def rules(
    query: str, exclude: str | None = None, groups: dict[str, str] | None = None, **options: object
) -> RuleSet:
    def resolve(name: str, offset: int):
        if not groups or name not in groups:
            raise QueryError(f"unknown group @{name}", offset)
        return parse_query(groups[name], resolve, check=False)

    negative = parse_query(exclude, resolve, check=False) if exclude else None
    definition = RuleDefinition("r", parse_query(query, resolve), negative, **options)  # type: ignore[arg-type]
    return RuleSet.build([definition])


def matches(query: str, text: str, *, language: str | None = "id", **article: object) -> bool:
    found = rules(query).match(Article(content=text, language=language, **article))  # type: ignore[arg-type]
    return bool(found)


# --- word families, exact forms, case ---------------------------------------------------------

SANKSI = [
    ("sanksi-sanksi", True),
    ("disanksi", True),
    ("menyanksi", True),
    ("sanksinya", True),
    ("sanksi2", True),
    ("sank&shy;si", False),
    ("sank\u00adsi", True),
    ("SANKSI", True),
    ("saksi", False),
    ("sangsi", False),
    ("sanksi\u200b", True),
    ("penyanksian", True),
]


@pytest.mark.parametrize(("word", "expected"), SANKSI)
def test_sanksi_matches_its_family_and_not_its_false_friends(word: str, expected: bool) -> None:
    """sanksi: reduplication, affixes, the informal 2, soft hyphens; never saksi or sangsi.
    (The HTML entity stays literal here: unescaping happens when feed HTML becomes text.)"""
    assert matches("sanksi", f"Pemerintah {word} pejabat") is expected


def test_html_soft_hyphens_are_removed_when_feed_html_becomes_text() -> None:
    from monitor.base.text import html_to_text

    assert matches("sanksi", html_to_text("<p>Pemerintah sank&shy;si pejabat</p>"))


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Belarusia", True),
        ("Belarusnya", True),
        ("Belarusian", True),
        ("BELARUS", True),
        ("Belanda", False),
        ("Bela", False),
    ],
)
def test_prefix_matches_word_starts(word: str, expected: bool) -> None:
    assert matches("Belarus*", f"Presiden {word} hadir") is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("Lukasenka", "Alaksandr Lukašenka berkata", True),
        ("Lukašenka", "Alaksandr Lukasenka berkata", True),
        ("Lukasenka", "Alaksandr Lukas\u030cenka berkata", True),  # decomposed input
        ("belarus", "ＢＥＬＡＲＵＳ menolak", True),  # full-width
        ("finansial", "krisis ﬁnansial", True),  # ligature
        ("strasse", "Straße", True),
        ("jum'at", "pada hari Jum’at lalu", True),
        ("belarus", "Belarus’s president", True),
        ('"sanksi baru"', "sanksi–baru", False),  # a dash joins words into one
        ("sanksi", "sanksi–baru", True),  # but its parts still count
    ],
)
def test_text_is_folded_the_same_for_rules_and_articles(
    query: str, text: str, expected: bool
) -> None:
    assert matches(query, text, language=None) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("!AS", "Menteri Luar Negeri AS berkata", True),
        ("!AS", "as roda patah", False),
        ("!AS", "As roda patah", False),
        ("!AS", "AS-nya menolak", True),
        ('!"Amerika Serikat"', "Amerika Serikat menolak", True),
        ('!"Amerika Serikat"', "amerika serikat menolak", False),
        ("=sanksi", "sanksi baru", True),
        ("=sanksi", "disanksi pemerintah", False),
        ("=sanksi", "sanksi-sanksi baru", True),
        ("sanksi", "disanksi pemerintah", True),
        ('="kerja sama"', "bekerja sama", False),
        ('"kerja sama"', "bekerja sama erat", True),
    ],
)
def test_exact_and_case_sensitive_terms(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_stems_follow_the_article_language() -> None:
    assert matches("sanction", "New sanctions on Minsk", language="en")
    assert not matches("sanction", "New sanctions on Minsk", language=None)
    assert matches("sanksi", "disanksi", language="id")
    assert not matches("sanksi", "disanksi", language="en")


# --- wildcards and typos ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("wo?d", "a word here", True),
        ("wo?d", "a wood here", True),
        ("wo?d", "a world here", False),
        ("sank?i", "sanksi", True),
        ("wo?d", "a wo-d here", False),  # ? is one letter or digit, never a joiner
        ("wo?d", "a wo'd here", False),
        ("wo?d", "a wo_d here", False),
        ("wo?d", "a wo2d here", True),
        ("wo?d", "a wöd here", False),  # one character, and ö folds to o: "wod"
        ("wo?d", "a woöd here", True),
        ("ekstrenal~1", "tekanan eksternal", True),
        ("eksternal~", "ancaman ekstrenal", True),  # 9 letters: one edit (a transposition)
        ("sanksi~", "saksi mata", False),  # 6 letters: no edit
        ("sanksi~1", "saksi mata", True),  # opt-in, and warned about
        ("lukashenko~2", "Lukashenka berkata", True),
        ("lukashenko~1", "Lukasenka berkata", False),
    ],
)
def test_wildcards_and_opt_in_typos(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_typo_hits_say_so() -> None:
    [match] = rules("eksternal~1").match(Article(content="ancaman ekstrenal", language="id"))
    assert [(h.text, h.how) for h in match.hits] == [("ekstrenal", "fuzzy")]


# --- Boolean operators, groups, fields, proximity -----------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("belarus AND sanksi", "sanksi untuk Belarus", True),
        ("belarus AND sanksi", "sanksi untuk Rusia", False),
        ("belarus sanksi", "sanksi untuk Belarus", True),
        ("belarus OR rusia", "sanksi untuk Rusia", True),
        ("sanksi AND NOT timnas", "sanksi FIFA untuk timnas", False),
        ("sanksi -timnas", "sanksi FIFA untuk timnas", False),
        ("sanksi -timnas", "sanksi untuk pejabat", True),
        ("(belarus OR rusia) AND sanksi", "Rusia kena sanksi", True),
        ("(belarus OR rusia) AND sanksi", "Rusia kena denda", False),
        ("covid-19", "kasus COVID-19 naik", True),
        ("covid-19", "covid naik 19 persen", False),
        ("/san(k|c)(si|tion)s?/", "new sanctions", True),
        ("/^harga/", "Harga cabai naik", True),
        ("/^harga/", "cabai: harga naik", False),
    ],
)
def test_boolean_operators_and_regex(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_a_pathological_regex_is_cut_off_by_its_time_limit() -> None:
    """/(a|aa)+b/ backtracks for minutes over a run of a's; each field's scan stops at its time
    limit, is logged, and the rule simply does not match while the others still do."""
    ruleset = RuleSet.compile([("slow", "/(a|aa)+b/", None), ("plain", "gempa", None)])
    article = Article(title="a" * 40, content="gempa " + "a" * 40, language="id")
    with capture_logs() as logs:
        started = time.perf_counter()
        found = ruleset.match(article)
        elapsed = time.perf_counter() - started
    assert [m.rule_id for m in found] == ["plain"]
    assert elapsed < 20 * REGEX_TIMEOUT
    timeouts = [e for e in logs if e["event"] == "rules.regex_timeout"]
    assert [(e["term"], e["field"]) for e in timeouts] == [
        ("/(a|aa)+b/", "title"),
        ("/(a|aa)+b/", "content"),
    ]


def test_groups_and_exclude_skip_a_football_story() -> None:
    groups = {
        "belarus": "Belarus* OR Minsk OR Lukashenko OR Lukasenka",
        "sanksi": "sanksi OR embargo OR sanction*",
        "sports": 'olahraga OR "sepak bola" OR timnas OR UEFA OR FIFA',
    }
    rule = rules("@belarus AND @sanksi", exclude="@sports", groups=groups)
    politics = Article(title="Minsk dijatuhi sanksi baru", language="id")
    football = Article(title="Timnas Belarus terancam sanksi UEFA", language="id")
    assert [m.rule_id for m in rule.match(politics)] == ["r"]
    assert rule.match(football) == []


@pytest.mark.parametrize(
    ("query", "article", "expected"),
    [
        ("title:(gempa)", {"title": "Gempa di Cianjur", "content": "..."}, True),
        ("title:(gempa)", {"title": "Banjir", "content": "gempa susulan"}, False),
        ("title:gempa AND content:(korban)", {"title": "Gempa", "content": "korban jiwa"}, True),
        ("summary:(gempa)", {"summary": "gempa", "content": ""}, True),
        ("text:(gempa)", {"content": "gempa"}, True),
        ("url:(belarus)", {"url": "https://x.example/belarus-sanksi", "content": "x"}, True),
        ("url:(belarus)", {"content": "belarus"}, False),
        ("source:(voaindonesia.com)", {"domains": ("voaindonesia.com",), "content": "x"}, True),
        ("source:(VOA)", {"feed": "VOA Indonesia", "content": "x"}, True),
    ],
)
def test_field_scoping(query: str, article: dict[str, object], expected: bool) -> None:
    found = rules(query).match(Article(language="id", **article))  # type: ignore[arg-type]
    assert bool(found) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("belarus NEAR/2 sanksi", "Belarus kena sanksi", True),
        ("belarus NEAR/2 sanksi", "Belarus kena dua sanksi", True),
        ("belarus NEAR/2 sanksi", "Belarus kena tiga jenis sanksi", False),
        ("belarus NEAR/2 sanksi", "sanksi untuk Belarus", True),
        ("belarus ONEAR/2 sanksi", "sanksi untuk Belarus", False),
        ("belarus ONEAR/2 sanksi", "Belarus kena sanksi", True),
        ("belarus NEAR sanksi", "Belarus a b c d e sanksi", True),
        ("belarus NEAR sanksi", "Belarus a b c d e f sanksi", False),
        ('(Belarus* OR Minsk) NEAR/3 "sanksi baru"', "Minsk menolak sanksi baru", True),
        ("belarus NEAR/1 sanksi", "Belarus menolak sanksi-sanksi", True),  # one position
        ("belarus NEAR/3 sanksi AND rusia", "Belarus dan sanksi; juga Rusia", True),
    ],
)
def test_near_counts_the_words_between(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_near_never_spans_two_fields() -> None:
    rule = rules("belarus NEAR/5 sanksi")
    assert rule.match(Article(title="Belarus", content="sanksi", language="id")) == []


# --- rule options ------------------------------------------------------------------------------


def test_fields_lang_and_sources_restrict_a_rule() -> None:
    title_only = rules("gempa", fields=("title",))
    assert title_only.match(Article(title="Gempa", language="id"))
    assert not title_only.match(Article(content="gempa", language="id"))

    indonesian = rules("gempa", languages=("id",))
    assert indonesian.match(Article(content="gempa", language="id"))
    assert not indonesian.match(Article(content="gempa", language="en"))
    assert indonesian.match(Article(content="gempa", language=None))  # unknown: never dropped

    voa = rules("gempa", sources=("voaindonesia.com",))
    assert voa.match(Article(content="gempa", domains=("www.voaindonesia.com",)))
    assert not voa.match(Article(content="gempa", domains=("antaranews.com",)))
    tagged = rules("gempa", sources=("id",), exclude_sources=("Bola",))
    assert tagged.match(Article(content="gempa", tags=("id",)))
    assert not tagged.match(Article(content="gempa", tags=("id",), feed="Bola"))


# --- hits ---------------------------------------------------------------------------------------


def test_hits_quote_the_original_text_with_offsets_and_how() -> None:
    text = "Washington memberlakukan sanksi-sanksi terhadap pejabat Belarus yang disanksi."
    [match] = rules("sanksi OR Belarus*").match(Article(content=text, language="id"))
    assert [(h.text, h.term, h.how) for h in match.hits] == [
        ("sanksi-sanksi", "sanksi", "stem"),
        ("Belarus", "Belarus*", "prefix"),
        ("disanksi", "sanksi", "stem"),
    ]
    for hit in match.hits:
        assert text[hit.start : hit.end] == hit.text


@pytest.mark.parametrize(
    ("query", "text", "how"),
    [
        ("sanksi", "sanksi baru", "exact"),
        ("sanksi", "disanksi", "stem"),
        ("sanksi", "sanksi-sanksi baru", "stem"),  # RULES.md: reduplication is in the family
        ("sanksi", "sanksi2 baru", "stem"),
        ("pejabat", "pejabat-pejabatnya", "stem"),
        ('"sanksi baru"', "sanksi-sanksi baru", "stem"),
        ("=sanksi", "sanksi-sanksi baru", "exact"),  # counts as the base word, not by stem
        ("!Sanksi", "Sanksi-sanksi baru", "exact"),
        ("covid", "covid-19", "exact"),  # a part of a compound is no reduplication
        ("sanksi", "sanksi-baru", "exact"),
    ],
)
def test_hits_say_how_they_matched(query: str, text: str, how: str) -> None:
    [match] = rules(query).match(Article(content=text, language="id"))
    assert [h.how for h in match.hits] == [how]


def test_hits_map_back_through_characters_that_change_length() -> None:
    text = "Di Minsk: sank\u00adsi ﬁnal untuk Lukas\u030cenka."
    [match] = rules("sanksi OR final OR Lukasenka").match(Article(content=text, language="id"))
    assert [h.text for h in match.hits] == ["sank\u00adsi", "ﬁnal", "Lukas\u030cenka"]
    for hit in match.hits:
        assert text[hit.start : hit.end] == hit.text


def test_only_positive_terms_are_reported() -> None:
    [match] = rules("Belarus AND NOT timnas").match(
        Article(title="Belarus", content="Belarus lagi", language="id")
    )
    assert [(h.field, h.start) for h in match.hits] == [("title", 0), ("content", 0)]


def test_many_rules_share_terms_and_only_hit_rules_are_evaluated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """500 rules share sanksi: one index entry. Rules none of whose terms occur are never
    evaluated, nor are rules whose only hit is the term they all share."""
    ruleset = RuleSet.compile(
        [(f"r{i}", f"sanksi AND kata{i}", None) for i in range(500)]
        + [(f"gempa{i}", f"gempa AND (banjir OR longsor{i})", None) for i in range(100)]
    )
    assert len(ruleset.terms) == 1 + 500 + 2 + 100
    evaluated: list[str] = []
    evaluate = RuleSet._evaluate

    def spy(self: RuleSet, rule: CompiledRule, *args: object) -> object:
        evaluated.append(rule.id)
        return evaluate(self, rule, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(RuleSet, "_evaluate", spy)
    found = ruleset.match(Article(content="sanksi kata7 dan kata42", language="id"))
    assert sorted(m.rule_id for m in found) == ["r42", "r7"]
    assert sorted(evaluated) == ["r42", "r7"]


def test_a_full_word_cache_starts_again_and_matches_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from monitor.stages.rules import lexicon

    queries = [("a", '"sanksi baru" OR Belarus*', None), ("b", "gempa NEAR/2 Cianjur", None)]
    texts = [
        "Minsk menolak sanksi baru untuk Belarusia",
        "Gempa kuat di Cianjur, sanksi-sanksi baru",
        "Belarus dan gempa; sanksi lama",
    ]
    articles = [Article(content=text, language="id") for text in texts] * 3
    expected = [RuleSet.compile(queries).match(a) for a in articles]
    monkeypatch.setattr(lexicon, "MAX_CACHED_WORDS", 8)  # fewer than one article's words
    ruleset = RuleSet.compile(queries)
    assert [ruleset.match(a) for a in articles] == expected
    assert len(ruleset._lexicon.seen["id"]) <= 8  # emptied: the texts have 14 distinct words


# --- errors and warnings ------------------------------------------------------------------------


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
        ("???*", "at least 3 letters before '*' ('???*'); a '?' is no letter", 0),
        ("ab?d*", "at least 3 letters", 0),
        ("NOT a", "no positive term", 0),
        ("a OR NOT b", "no positive term", 0),
        ("", "empty query", 0),
        ("()", "empty parentheses", 0),
        ("a*b", "'*' may only end a word ('a*b')", 1),
        ("@missing", "unknown group @missing", 0),
        ("x AND /a(b/", "invalid regex: missing )", 10),
        ("/unterminated", "unterminated /regex/", 0),
        ("colour:(red)", "unknown field colour:", 0),
        ("a NEAR/3 (b AND c)", "NEAR/3 needs words", 2),
        ("a NEAR/500 b", "at most 100 words", 2),
        ("!sank*", "cannot be case-sensitive", 0),
        ("=sanksi~1", "cannot be combined", 0),
        ("sanksi~3", "at most 2 typos", 7),
    ],
)
def test_query_errors_carry_an_offset(query: str, message: str, offset: int) -> None:
    with pytest.raises(QueryError, match=re.escape(message)) as info:
        parse_query(query)
    assert info.value.offset == offset


def word(text: str, mode: str = FAMILY, cased: str = "", source: str = "") -> Word:
    return Word(source or text, 0, text, mode, cased)  # offsets are not compared


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("covid-19", word("covid-19")),
        ("Sanksi", word("sanksi", source="Sanksi")),
        ("=sanksi", word("sanksi", EXACT, source="=sanksi")),
        ("!AS", word("as", CASE, "AS", source="!AS")),
        ('"sanksi baru"', Phrase('"sanksi baru"', 0, ("sanksi", "baru"))),
        ("voaindonesia.com", Phrase("voaindonesia.com", 0, ("voaindonesia", "com"))),
        ("eksternal~1", Fuzzy("eksternal~1", 0, "eksternal", 1)),
        ("sanksi~", word("sanksi", source="sanksi~")),  # under 7 letters: no typo
        ("a AND NOT b", And((word("a"), Not(word("b"))))),
        ("(a OR b) -c", And((Or((word("a"), word("b"))), Not(word("c"))))),
        ("a b OR c", None),  # ambiguous: refused
        ("a NEAR/3 b", Near(word("a"), word("b"), 3, ordered=False)),
        ("a ONEAR b", Near(word("a"), word("b"), 5, ordered=True)),
        ("title:(a OR b)", Scope(("title",), Or((word("a"), word("b"))))),
        ("text:a", Scope(("title", "summary", "content"), word("a"))),
        ("a NEAR b OR c", Or((Near(word("a"), word("b"), 5, ordered=False), word("c")))),
    ],
)
def test_terms_parse_to_the_right_kinds(query: str, tree: object) -> None:
    if tree is None:
        with pytest.raises(QueryError):
            parse_query(query)
    else:
        assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "kind", "literal"),
    [("Belarus*", Wildcard, "belarus"), ("wo?d", Wildcard, "wo"), ("/san(k|c)si/", Regex, None)],
)
def test_wildcards_and_regexes_parse_to_their_kinds(
    query: str, kind: type, literal: str | None
) -> None:
    tree = parse_query(query)
    assert type(tree) is kind
    if literal is not None:
        assert isinstance(tree, Wildcard)
        assert tree.literal == literal


def test_fuzzy_terms_on_short_words_are_warned_about() -> None:
    [(message, _)] = lint_query(parse_query("sanksi~1"))
    assert message.startswith("sanksi~1: typo")
    assert "no typo under 7 letters" in lint_query(parse_query("sanksi~"))[0][0]
    assert lint_query(parse_query("eksternal~1")) == []


def test_the_seed_article_as_text(seed_article: str) -> None:
    """Belarus* finds Belarusia and Belarus; sanksi finds sanksi-sanksi; football does not."""
    groups = {"sports": 'olahraga OR "sepak bola" OR timnas OR UEFA OR FIFA'}
    title, _, body = seed_article.partition("\n")
    article = Article(title=title, content=body, language="id")
    belarus = rules("Belarus*").match(article)[0]
    assert {"Belarusia", "Belarus"} <= {h.text for h in belarus.hits}
    [sanksi] = rules("sanksi", exclude="@sports", groups=groups).match(article)
    assert [(h.text, h.how) for h in sanksi.hits] == [("sanksi-sanksi", "stem")]
    [both] = rules("Belarus* AND sanksi").match(article)
    assert {h.term for h in both.hits} == {"Belarus*", "sanksi"}
    football = Article(title="Timnas Bersiap Hadapi Malaysia di Jakarta", language="id")
    assert rules("Belarus* OR sanksi").match(football) == []
