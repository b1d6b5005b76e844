"""Config loading: validation into frozen settings, and every error at file:line:col."""

from __future__ import annotations

import base64
import math
from pathlib import Path

import pydantic
import pytest

from monitor.base.errors import ConfigError
from monitor.base.units import format_duration, parse_duration, parse_size
from monitor.config import load_config

GOOD = """\
defaults:
  interval: 5m
  timeout: 20s
  max_body: 2MiB
feeds:
  - url: https://example.org/feed.xml
    name: Example
    interval: 1h30m
    backfill: 24h
rules:
  - id: belarus
    query: 'Belarus* OR Minsk'
sinks:
  hook:
    type: webhook
    url: https://hooks.example.org/x
    secret: ${NEWSMON_TEST_SECRET}
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_a_valid_config_becomes_frozen_settings(write_config, monkeypatch) -> None:
    """Durations, sizes and ${VAR} are resolved, and the result cannot be mutated."""
    monkeypatch.setenv("NEWSMON_TEST_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    loaded = load_config(write_config(GOOD))
    settings = loaded.settings
    assert settings.defaults.interval == 300
    assert settings.defaults.max_body == 2 * 1024 * 1024
    feed = settings.feeds[0]
    assert settings.interval(feed) == 5400
    assert settings.timeout(feed) == 20
    assert settings.backfill(feed) == 86400
    assert settings.sinks["hook"].secrets == ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)
    with pytest.raises(pydantic.ValidationError):
        feed.interval = 1  # type: ignore[misc]


def test_backfill_and_first_sync_combine(write_config) -> None:
    """first_sync: alert means backfill everything; an explicit silent feed overrides defaults."""
    loaded = load_config(
        write_config(
            "defaults:\n  first_sync: alert\nfeeds:\n  - url: http://a.example/f\n"
            "  - url: http://b.example/f\n    first_sync: silent\n"
            "  - url: http://c.example/f\n    backfill: 2d\n"
        )
    )
    a, b, c = loaded.settings.feeds
    assert math.isinf(loaded.settings.backfill(a))
    assert loaded.settings.backfill(b) is None
    assert loaded.settings.backfill(c) == 172800


def test_every_problem_is_reported_with_its_position(write_config) -> None:
    """Unknown keys, bad values, bad queries and missing sinks are all reported in one pass."""
    path = write_config("""\
feeds:
  - url: https://example.org/feed.xml
    intervall: 5m
  - url: ftp://example.org/feed
rules:
  - id: belarus
    query: 'Belarus* AND sanksi OR embargo'
    sinks: [nowhere]
  - id: norway
    query: NO
  - id: negative
    query: 'NOT timnas'
sinks:
  desk:
    type: webhook
    url: http://127.0.0.1:9/hook
    timeout: fast
""")
    name = str(path)
    assert problems(path) == [
        f"{name}:3:5: unknown key 'feeds[0].intervall' (did you mean 'interval'?)",
        f"{name}:4:10: feeds[1].url: 'ftp://example.org/feed' is not an http(s) URL",
        f"{name}:7:33: rule 'belarus': query: AND and OR mixed without parentheses is ambiguous:"
        " write (a AND b) OR c, or a AND (b OR c)",
        f"{name}:8:13: rule 'belarus': unknown sink 'nowhere' (sinks: desk)",
        f"{name}:10:12: rules[1].query: YAML read 'NO' as false; put it in single quotes ('NO')",
        f"{name}:12:13: rule 'negative': query: the query has no positive term: it would match"
        " articles that contain none of its words (add a term that must be present)",
        f"{name}:17:14: sinks.desk.timeout: 'fast' is not a duration"
        " (examples: 30s, 5m, 1h30m, 2d)",
    ]


def test_yaml_syntax_errors_point_at_the_problem(write_config) -> None:
    path = write_config("feeds:\n  - url: http://a.example/f\n    name: [unclosed\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:4:1: YAML syntax error: expected ',' or ']'")
    assert f"at {path}:3:11" in problem


def test_an_unquoted_group_reference_is_a_syntax_error_with_position(write_config) -> None:
    path = write_config("rules:\n  - id: x\n    query: @belarus AND @sanksi\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:3:12: YAML syntax error")


def test_python_tags_are_refused_and_never_run(write_config, tmp_path: Path) -> None:
    """The safe loader refuses !!python tags: nothing is executed."""
    marker = tmp_path / "pwned"
    path = write_config(f"state: !!python/object/apply:os.system ['touch {marker}']\n")
    [problem] = problems(path)
    assert "could not determine a constructor" in problem
    assert problem.startswith(f"{path}:1:8:")
    assert not marker.exists()


def test_duplicate_keys_are_refused(write_config) -> None:
    path = write_config("defaults:\n  interval: 5m\n  interval: 10m\n")
    assert problems(path) == [f"{path}:3:3: duplicate key 'interval'"]


def test_unknown_environment_variables_are_errors(write_config, monkeypatch) -> None:
    monkeypatch.delenv("NEWSMON_SURELY_UNSET", raising=False)
    path = write_config("state: 'sqlite:///${NEWSMON_SURELY_UNSET}/x.db'\n")
    [problem] = problems(path)
    assert problem.startswith(f"{path}:1:8: environment variable NEWSMON_SURELY_UNSET is not set")


def test_variables_defaults_files_and_credentials(write_config, tmp_path, monkeypatch) -> None:
    (tmp_path / "secret.txt").write_text("whsec_ZnJvbS1maWxlLXNlY3JldC1ieXRlcy1mb3ItbmV3c21vbg==\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "hook").write_text("whsec_ZnJvbS1jcmVkZW50aWFsLXNlY3JldC1ieXRlcy1uZXdzbW9u")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    loaded = load_config(
        write_config("""\
state: 'sqlite:///${NEWSMON_UNSET_DIR:-/tmp}/x.db'
sinks:
  a: {type: webhook, url: 'http://h.example/a', secret: '${file:secret.txt}'}
  b: {type: webhook, url: 'http://h.example/b', secret: '${credential:hook}'}
""")
    )
    settings = loaded.settings
    assert settings.state == "sqlite:////tmp/x.db"
    assert settings.sinks["a"].secrets == (
        "whsec_ZnJvbS1maWxlLXNlY3JldC1ieXRlcy1mb3ItbmV3c21vbg==",
    )
    assert settings.sinks["b"].secrets == (
        "whsec_ZnJvbS1jcmVkZW50aWFsLXNlY3JldC1ieXRlcy1uZXdzbW9u",
    )


def test_included_rule_files_report_their_own_positions(write_config) -> None:
    """Problems inside an included file carry that file's name and lines."""
    write_config(
        "rules:\n  - id: ok\n    query: 'sanksi'\n  - id: bad\n    query: 'a OR'\n",
        name="rules.yaml",
    )
    write_config("rules:\n  - id: broken\n    query: [unclosed\n", name="broken.yaml")
    main = write_config("include: [rules.yaml, broken.yaml]\nsinks:\n  log: {type: log}\n")
    found = problems(main)
    rules_file = str(main.parent / "rules.yaml")
    assert f"{rules_file}:5:17: rule 'bad': query: query ends where a term was expected" in found
    assert any(p.startswith(f"{main.parent / 'broken.yaml'}:4:1: YAML syntax error") for p in found)


def test_included_rules_are_loaded(write_config) -> None:
    write_config("rules:\n  - id: inc\n    query: 'sanksi'\n", name="more.yaml")
    main = write_config("include: more.yaml\nrules:\n  - id: own\n    query: 'Minsk'\n")
    loaded = load_config(main)
    assert [r.id for r in loaded.settings.rules] == ["own", "inc"]
    assert main.parent / "more.yaml" in loaded.files


def test_duplicate_rule_ids_and_feeds_are_refused(write_config) -> None:
    path = write_config("""\
feeds:
  - url: http://a.example/f
  - url: http://a.example/f
rules:
  - {id: x, query: 'a'}
  - {id: x, query: 'b'}
sinks: {log: {type: log}}
""")
    assert problems(path) == [
        f"{path}:3:10: feed http://a.example/f is listed twice (first at feeds[0])",
        f"{path}:6:10: rule id 'x' is used twice (first at rules[0])",
    ]


def test_rules_without_sinks_warn_but_load(write_config) -> None:
    loaded = load_config(write_config("rules:\n  - {id: x, query: 'a'}\n"))
    assert [w.severity for w in loaded.warnings] == ["warning"]


def test_the_retired_deliveries_setting_warns_but_loads(write_config) -> None:
    """``defaults.deliveries`` sized a connection pool all sinks shared; each sink's own
    ``concurrency`` bounds its deliveries now, so the key only warns."""
    path = write_config("defaults:\n  deliveries: 8\n")
    [warning] = load_config(path).warnings
    assert str(warning) == (
        f"{path}:2:15: warning: defaults.deliveries is no longer used: each sink's concurrency"
        " (defaults.per_sink) bounds its deliveries"
    )


def test_a_missing_file_is_a_clear_problem(tmp_path: Path) -> None:
    [problem] = problems(tmp_path / "nope.yaml")
    assert "cannot read config" in problem


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        (45, 45),
        ("250ms", 0.25),
        ("1.5h", 5400),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["fast", "5 minutes", "m5", "", "-5", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_sizes_and_duration_formatting() -> None:
    assert parse_size("10MiB") == 10 * 1024 * 1024
    assert parse_size("512kb") == 512_000
    assert parse_size(1000) == 1000
    assert format_duration(5400) == "1h30m"
    assert format_duration(0.25) == "250ms"
    with pytest.raises(ValueError, match="size"):
        parse_size("big")


RULES = """\
groups:
  belarus: 'Belarus* OR Minsk'
  broken: 'a OR'
  loop1: '@loop2 OR x'
  loop2: '@loop1'
rules:
  - id: unknown-group
    query: '@belarus AND @sanksi'
  - id: ambiguous
    query: 'a AND b OR c'
  - id: null-query
    query:
  - id: yes-query
    query: yes
  - id: negative
    query: 'NOT @belarus'
  - id: regex
    query: '/sank(si/'
  - id: short-prefix
    query: 'sa*'
  - id: fuzzy
    query: 'sanksi~1 AND Minsk'
  - id: uses-broken
    query: '@broken AND Minsk'
sinks: {log: {type: log}}
"""


def test_every_rule_error_has_its_position(write_config) -> None:
    path = write_config(RULES)
    found = problems(path)
    expected = [
        f"{path}:3:16: group @broken: query ends where a term was expected",
        f"{path}:4:11: group @loop1: group @loop2 has errors (see its definition)",
        f"{path}:5:11: group @loop2: groups refer to each other in a cycle: @loop1 -> @loop2"
        " -> @loop1",
        f"{path}:8:26: rule 'unknown-group': query: unknown group @sanksi",
        f"{path}:10:21: rule 'ambiguous': query: AND and OR mixed without parentheses is"
        " ambiguous: write (a AND b) OR c, or a AND (b OR c)",
        f"{path}:12:11: rules[2].query: YAML read an empty value as null; write the query in"
        " single quotes",
        f"{path}:14:12: rules[3].query: YAML read 'yes' as true; put it in single quotes ('yes')",
        f"{path}:16:13: rule 'negative': query: the query has no positive term: it would match"
        " articles that contain none of its words (add a term that must be present)",
        f"{path}:18:21: rule 'regex': query: invalid regex: missing ) at position 7",
        f"{path}:20:13: rule 'short-prefix': query: a prefix needs at least 3 letters before"
        " '*' ('sa*')",
        f"{path}:22:13: warning: rule 'fuzzy': sanksi~1: typo tolerance on a 6-letter word also"
        " matches other words (sanksi~1 matches saksi); see test-rules --explain",
        f"{path}:24:13: rule 'uses-broken': query: group @broken has errors (see its definition)",
    ]
    assert found == expected


def test_groups_and_structured_rules_load_from_included_files(write_config) -> None:
    write_config(
        """\
groups:
  sports: 'olahraga OR "sepak bola" OR timnas'
rules:
  - id: structured
    all: ['Belarus* OR Minsk']
    any: [sanksi, embargo]
    none: ['@sports']
    fields: [title, text]
    lang: [id, EN]
    sources: [voaindonesia.com]
""",
        name="rules.yaml",
    )
    loaded = load_config(write_config("include: [rules.yaml]\nsinks: {log: {type: log}}\n"))
    [rule] = loaded.rules.rules
    definition = rule.definition
    assert definition.fields == ("title", "summary", "content")
    assert definition.languages == ("id", "en")
    from monitor.stages.rules import Article

    hit = Article(title="Minsk kena sanksi", language="id", domains=("voaindonesia.com",))
    football = Article(
        title="Minsk: timnas kena sanksi", language="id", domains=("voaindonesia.com",)
    )
    assert [m.rule_id for m in loaded.rules.match(hit)] == ["structured"]
    assert loaded.rules.match(football) == []


def test_the_structured_form_compiles_to_the_same_tree_as_the_query(write_config) -> None:
    """RULES.md: all/any/none, each item a query string, is the AND of the all: items, the OR
    of the any: items and NOT the OR of the none: items."""
    path = write_config(
        """\
groups:
  sports: 'olahraga OR "sepak bola" OR timnas'
rules:
  - id: structured
    all: ['Belarus* OR Minsk', sanksi]
    any: [embargo, 'sanction*']
    none: ['@sports', UEFA]
  - id: query
    query: '(Belarus* OR Minsk) AND sanksi AND (embargo OR sanction*) AND NOT (@sports OR UEFA)'
  - id: one-each
    all: [gempa]
    any: ['title:(Cianjur)']
    none: [hoaks]
  - id: one-each-query
    query: 'gempa AND title:(Cianjur) AND NOT hoaks'
sinks: {log: {type: log}}
"""
    )
    trees = {rule.id: rule.definition.query for rule in load_config(path).rules.rules}
    assert trees["structured"] == trees["query"]
    assert trees["one-each"] == trees["one-each-query"]


def test_a_rule_needs_exactly_one_form(write_config) -> None:
    path = write_config(
        "rules:\n  - id: a\n  - id: b\n    query: 'x'\n    all: ['y']\nsinks: {log: {type: log}}\n"
    )
    assert problems(path) == [
        f"{path}:2:5: rules[0]: a rule needs query: (or all:/any:/none:)",
        f"{path}:3:5: rules[1]: give either query: or all:/any:/none:, not both",
    ]


def test_sink_problems_are_reported_at_their_position(write_config) -> None:
    """Cron, time zone, rate, template, address and secret mistakes: each at file:line:col,
    and a secret's value never echoed."""
    path = write_config("""\
sinks:
  morning:
    type: slack
    url: 'https://hooks.slack.example/services/T/B/sekrit'
    digest: '0 25 * * *'
    timezone: Mars/Olympus
    rate: fast
    template: '{{ title '
  mail:
    type: email
    host: smtp.example.org
    from: 'not an address'
    to: [desk@example.org]
  hook:
    type: webhook
    url: https://h.example/x
    secret: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, 'whsec_!!notbase64!!']
  chat:
    type: discord
    url: 'ftp://discord.example/api/webhooks/1/sekrit'
""")
    name = str(path)
    found = problems(path)
    assert found[:3] == [
        f"{name}:5:13: sinks.morning.digest: '0 25 * * *' is not a cron expression"
        " (min hour day month dow): Error validating expression '25': the last value (25) is"
        " higher than the maximum value (23)",
        f"{name}:6:15: sinks.morning.timezone: unknown time zone 'Mars/Olympus'"
        " (examples: UTC, Asia/Jakarta)",
        f"{name}:7:11: sinks.morning.rate: 'fast' is not a rate (examples: 1/s, 20/m, 5/10s)",
    ]
    assert found[3].startswith(f"{name}:8:15: sinks.morning.template: template syntax error")
    assert found[4:] == [
        f"{name}:12:11: sinks.mail.from: 'not an address' is not an email address",
        f"{name}:17:54: sinks.hook.secret[1]: a whsec_ secret must be base64 after the prefix",
        f"{name}:20:10: sinks.chat.url: is not an http(s) URL with a host",
    ]
    assert not any("sekrit" in p or "notbase64" in p for p in found)


def whsec(size: int) -> str:
    return "whsec_" + base64.b64encode(bytes(range(size))).decode()


def test_webhook_secrets_are_whsec_and_24_to_64_bytes(write_config) -> None:
    """Standard Webhooks secrets only: a plain string (which the reference verifier would read
    as base64, so no receiver could verify it) is refused with how to make one; the key must
    hold 24 to 64 bytes. A secret's value is never echoed."""
    path = write_config(f"""\
sinks:
  plain: {{type: webhook, url: 'https://h.example/a', secret: 'my-long-shared-password'}}
  short: {{type: webhook, url: 'https://h.example/b', secret: '{whsec(16)}'}}
  long: {{type: webhook, url: 'https://h.example/c', secret: '{whsec(65)}'}}
  ok: {{type: webhook, url: 'https://h.example/d', secret: ['{whsec(24)}', '{whsec(64)}']}}
""")
    name = str(path)
    found = problems(path)
    make = (
        "python -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\""
    )
    assert found == [
        f"{name}:2:62: sinks.plain.secret: a webhook secret is whsec_ + base64 of 24 to 64"
        f" random bytes (Standard Webhooks); make one with: {make}",
        f"{name}:3:62: sinks.short.secret: a whsec_ secret must hold 24 to 64 random bytes, not 16",
        f"{name}:4:61: sinks.long.secret: a whsec_ secret must hold 24 to 64 random bytes, not 65",
    ]
    assert not any("password" in p for p in found)
    ok = f"sinks:\n  ok: {{type: webhook, url: 'https://h.example/d', secret: '{whsec(64)}'}}\n"
    assert load_config(write_config(ok, name="ok.yaml")).settings.sinks["ok"].secrets == (
        whsec(64),
    )


def test_sink_settings_combine_with_defaults(write_config) -> None:
    loaded = load_config(
        write_config("""\
defaults:
  per_sink: 2
  retries: [1s, 1m]
  timezone: Asia/Jakarta
sinks:
  a: {type: log, digest: '30 7 * * 1-5', rate: 20/m}
  b: {type: webhook, url: 'https://h.example/b', retries: [5s], concurrency: 8, secret: []}
  c:
    type: apprise
    urls: 'json://127.0.0.1:9/x'
""")
    )
    settings = loaded.settings
    a, b = settings.sinks["a"], settings.sinks["b"]
    assert (settings.concurrency(a), settings.retries(a), settings.timezone(a)) == (
        2,
        (1.0, 60.0),
        "Asia/Jakarta",
    )
    assert a.rate == pytest.approx(1 / 3)
    assert (settings.concurrency(b), settings.retries(b)) == (8, (5.0,))
    assert b.secrets == ()


def test_fetching_settings_combine_defaults_and_feeds(write_config) -> None:
    """allow_private, adaptive and the interval bounds: a feed's own value wins; a feed minimum
    above the default maximum raises that maximum."""
    loaded = load_config(
        write_config(
            "defaults:\n  allow_private: true\n  min_interval: 1m\n  max_interval: 2h\n"
            "  failing_after: 3\n  max_backoff: 12h\n"
            "feeds:\n  - url: http://a.example/f\n"
            "  - url: http://b.example/f\n    allow_private: false\n    adaptive: true\n"
            "    min_interval: 3h\n"
        )
    )
    settings = loaded.settings
    a, b = settings.feeds
    assert (settings.allow_private(a), settings.allow_private(b)) == (True, False)
    assert (settings.adaptive(a), settings.adaptive(b)) == (False, True)
    assert settings.interval_bounds(a) == (60, 7200)
    assert settings.interval_bounds(b) == (10800, 10800)
    assert (settings.defaults.failing_after, settings.defaults.max_backoff) == (3, 43200)


def test_private_addresses_are_refused_by_default(write_config) -> None:
    loaded = load_config(write_config("feeds:\n  - url: http://a.example/f\n"))
    assert loaded.settings.allow_private(loaded.settings.feeds[0]) is False


def test_fetching_settings_errors_have_positions(write_config) -> None:
    path = write_config(
        "defaults:\n  allow_private: maybe\n"
        "feeds:\n  - url: http://a.example/f\n    min_interval: 10m\n    max_interval: 5m\n"
    )
    assert problems(path) == [
        f"{path}:2:18: defaults.allow_private: Input should be a valid boolean, unable to "
        "interpret input",
        f"{path}:4:5: feeds[0]: min_interval is longer than max_interval",
    ]
    path = write_config("defaults:\n  min_interval: 2h\n  max_interval: 1h\n")
    assert problems(path) == [f"{path}:2:3: defaults: min_interval is longer than max_interval"]


# --- words: the families users set right --------------------------------------------------------

WORDS_RULES = """\
rules:
  - id: pemilu
    query: 'pemilu OR adil'
words:
  keep: [pengadilan]
  join:
    - [pemilu, pilkada]
  split:
    - [adil, keadilan]
"""


def test_words_from_a_rule_file_shape_the_families(write_config) -> None:
    """keep, join and split in an included rule file change what the rules find."""
    from monitor.stages.rules import Article

    write_config(WORDS_RULES, name="rules.yaml")
    main = write_config(
        "include: rules.yaml\nwords:\n  keep: [perdana]\nsinks: {log: {type: log}}\n"
    )
    loaded = load_config(main)
    overrides = loaded.rules.overrides
    assert overrides.keep == {"pengadilan", "perdana"}
    assert overrides.join == (frozenset({"pemilu", "pilkada"}),)
    assert overrides.split == (frozenset({"adil", "keadilan"}),)

    def fires(text: str) -> bool:
        return bool(loaded.rules.match(Article(content=text, language="id")))

    assert fires("pilkadanya ditunda")  # joined with pemilu
    assert fires("mengadili")  # adil's family, untouched
    assert not fires("pengadilan negeri")  # kept: out of adil's family
    assert not fires("keadilan sosial")  # split from adil


def test_words_problems_have_their_positions(write_config) -> None:
    write_config(
        """\
words:
  keep: ['kerja sama', sanksi*]
  join:
    - [pemilu, pilkada]
    - [pilkada, pilpres]
    - [sanksi]
  split:
    - [pemilu, pilkada]
""",
        name="words.yaml",
    )
    main = write_config("include: words.yaml\nwords:\n  keep: [x]\nsinks: {log: {type: log}}\n")
    found = problems(main)
    words = main.parent / "words.yaml"
    assert found == [
        f"{words}:2:10: words.keep: 'kerja sama' is not one word (write each word of a family"
        " on its own)",
        f"{words}:2:24: words.keep: 'sanksi*' is not one word (write each word of a family"
        " on its own)",
        f"{words}:5:7: words.join: 'pilkada' is in two join lists (put the words of one family"
        " in one list)",
        f"{words}:6:7: words.join: a join list needs two different words or more",
        f"{words}:8:7: words.split: 'pemilu' and 'pilkada' are also joined (at {words}:4:7)",
    ]


def test_an_unknown_words_key_or_a_word_for_a_list_is_refused(write_config) -> None:
    path = write_config("words:\n  kep: [pemilu]\n  join: [pemilu]\nsinks: {log: {type: log}}\n")
    assert problems(path) == [
        f"{path}:2:3: unknown key 'words.kep' (did you mean 'keep'?)",
        f"{path}:3:10: words.join[0]: Input should be a valid tuple",
    ]
