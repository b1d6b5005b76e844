"""The rule lab and the word-family warnings, as users run them: ``newsmon check`` on real rule
files, ``newsmon test-rules --stored`` on a store filled by a real ``newsmon run --once``
against a loopback feed (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from monitor.cli.rules import Progress
from tests.conftest import FeedServer
from tests.test_cli import newsmon

RULES = """\
groups:
  income: 'pendapatan OR pajak'
rules:
  - id: fair
    query: 'adil AND NOT timnas'
  - id: sanctions
    query: 'sanksi OR @income'
"""


async def test_check_warns_about_a_family_with_words_of_its_own(write_config) -> None:
    """adil (fair) also finds pengadilan (court) and keadilan (justice): check says so at the
    word's place and names them; sanksi and pendapatan (in a group) stay quiet."""
    rules = write_config(RULES, name="rules.yaml")
    config = write_config("include: rules.yaml\nsinks: {log: {type: log}}\n")
    code, out, err = await newsmon("check", "--config", str(config))
    assert code == 0, err
    [warning, ok] = out.splitlines()
    assert warning.startswith(f"{rules}:5:13: warning: rule 'fair': adil also finds ")
    assert "pengadilan, keadilan" in warning
    assert "words: keep" in warning
    assert "=adil" in warning
    assert ok.endswith("OK (0 feeds, 2 rules, 1 sink)")

    # the fix it suggests silences it; JSON carries the same warning with its position
    write_config(RULES + "words:\n  keep: [pengadilan, keadilan]\n", name="rules.yaml")
    code, out, _ = await newsmon("check", "--config", str(config))
    assert (code, out.splitlines()[:-1]) == (0, [])
    write_config(RULES, name="rules.yaml")
    code, out, _ = await newsmon("check", "--json", "--config", str(config))
    [problem] = json.loads(out)["problems"]
    assert (problem["line"], problem["col"], problem["severity"]) == (5, 13, "warning")


async def test_check_is_quiet_for_ordinary_families(write_config) -> None:
    """Families whose derived words keep the word's meaning stay quiet: the act and the doer
    (pemberitaan, penolakan, tanggapan, protesters, reporters) are no words of their own."""
    config = write_config(
        "rules:\n  - id: a\n    query: 'sanksi OR pendapatan OR pemilu OR protest OR berita"
        " OR tolak OR tanggap OR korupsi OR report OR ban'\n"
        "sinks: {log: {type: log}}\n"
    )
    code, out, _ = await newsmon("check", "--config", str(config))
    assert (code, out.splitlines()) == (0, [f"{config}: OK (0 feeds, 1 rule, 1 sink)"])


LAB_CONFIG = """\
state: {state}
defaults:
  allow_private: true
feeds:
  - url: {feed}
    name: Tagar
rules:
  - id: belarus
    query: 'Belarus*'
  - id: income
    query: 'pendapatan'
  - id: chili
    query: 'cabai'
sinks: {{log: {{type: log}}}}
"""

ITEM = (
    "<item><title>{title}</title><link>https://www.tagar.id/{guid}</link>"
    '<guid isPermaLink="false">{guid}</guid><description>{text}</description></item>'
)


def with_items(feed: bytes, *items: tuple[str, str, str]) -> bytes:
    body = "".join(ITEM.format(guid=g, title=t, text=x) for g, t, x in items)
    return feed.replace(b"</channel>", body.encode() + b"</channel>")


async def stored_lab(write_config, state: str, feeds: FeedServer, seed_feed: bytes) -> Path:
    """A store filled by ``newsmon run --once``: the seed feed and two more items, one of
    them the issue's false friend (Warga dapat bantuan: 'can', not income)."""
    feed = with_items(
        seed_feed,
        ("dapat", "Warga dapat bantuan", "Warga dapat bantuan sosial dari pemerintah."),
        ("income", "Pendapatan negara naik", "Pendapatannya tumbuh 12 persen tahun ini."),
    )
    config = write_config(LAB_CONFIG.format(state=state, feed=feeds.set("feed.xml", feed)))
    code, _, err = await newsmon("run", "--once", "--config", str(config))
    assert code == 0, err
    return config


async def test_the_rule_lab_runs_the_rules_over_the_stored_news(
    write_config, state: str, feeds: FeedServer, seed_feed: bytes
) -> None:
    """Five stored articles: a count per rule, its share, the hits with snippets; the income
    rule fires on the income story only, never on 'dapat'. No progress off a terminal."""
    config = await stored_lab(write_config, state, feeds, seed_feed)
    code, out, err = await newsmon("test-rules", "--stored", "7d", "--config", str(config))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("5 articles stored since ")
    assert lines[0].endswith(" UTC (7d)")
    assert "belarus: 1 article (20.0%)" in lines
    assert "income: 1 article (20.0%)" in lines
    assert "chili: 1 article (20.0%)" in lines
    assert "  == Pendapatan negara naik" in lines
    assert "Warga dapat bantuan" not in out
    assert any("'Pendapatannya'" in line and "<- pendapatan (stem)" in line for line in lines)

    code, out, err = await newsmon(
        "test-rules", "--stored", "7d", "--json", "--config", str(config)
    )
    assert (code, err) == (0, "")
    *articles, last = [json.loads(line) for line in out.splitlines()]
    assert last["summary"]["articles"] == 5
    assert last["summary"]["rules"] == [
        {"rule": "belarus", "articles": 1, "share": 0.2},
        {"rule": "income", "articles": 1, "share": 0.2},
        {"rule": "chili", "articles": 1, "share": 0.2},
    ]
    assert sorted(a["title"] for a in articles) == [
        "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal",
        "Harga Cabai Rawit Naik Jelang Akhir Pekan",
        "Pendapatan negara naik",
    ]
    income = next(a for a in articles if a["title"] == "Pendapatan negara naik")
    assert income["feed"] == "Tagar"
    assert income["language"] == "id"
    [match] = income["matches"]
    assert [(h["text"], h["how"]) for h in match["hits"]] == [
        ("Pendapatan", "exact"),
        ("Pendapatannya", "stem"),
    ]
    assert match["hits"][1]["snippet"].startswith("Pendapatannya tumbuh 12 persen")


async def test_the_rule_lab_takes_a_query_or_chosen_rules(
    write_config, state: str, feeds: FeedServer, seed_feed: bytes
) -> None:
    config = await stored_lab(write_config, state, feeds, seed_feed)
    code, out, err = await newsmon(
        "test-rules", "--stored", "7d", "--json", "--query", "dapat", "--config", str(config)
    )
    assert code == 0, err
    *articles, last = [json.loads(line) for line in out.splitlines()]
    # the root dapat finds pendapatan, built on it (check warns about that family)
    assert last["summary"]["rules"] == [{"rule": "query", "articles": 2, "share": 0.4}]
    assert [a["title"] for a in articles] == ["Warga dapat bantuan", "Pendapatan negara naik"]

    code, out, err = await newsmon(
        "test-rules", "--stored", "7d", "--rule", "chili", "--config", str(config)
    )
    assert code == 0, err
    assert "chili: 1 article (20.0%)" in out.splitlines()
    assert "belarus" not in out

    code, _, err = await newsmon(
        "test-rules", "--stored", "7d", "--rule", "nope", "--config", str(config)
    )
    assert code == 2
    assert "no rule 'nope' (rules: belarus, income, chili)" in err
    code, _, err = await newsmon(
        "test-rules", "--stored", "7d", "--query", "a AND b OR c", "--config", str(config)
    )
    assert code == 2
    assert "--query: AND and OR mixed" in err


async def test_the_rule_lab_window_and_usage(
    write_config, state: str, feeds: FeedServer, seed_feed: bytes
) -> None:
    config = await stored_lab(write_config, state, feeds, seed_feed)
    code, out, _ = await newsmon("test-rules", "--stored", "0s", "--config", str(config))
    assert code == 0
    assert out.startswith("0 articles stored since ")
    code, _, err = await newsmon("test-rules", "--stored", "soon", "--config", str(config))
    assert code == 2
    assert "--stored:" in err
    code, _, err = await newsmon("test-rules", "--config", str(config))
    assert code == 2
    assert "give SOURCE... or --stored WINDOW" in err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only_after_a_moment() -> None:
    now = [0.0]
    screen = Terminal()
    progress = Progress(screen, 5000, clock=lambda: now[0])
    progress.update(10)  # at once: nothing yet
    assert screen.getvalue() == ""
    now[0] = 0.6
    progress.update(1200)
    now[0] = 0.7
    progress.update(1300)  # redrawn at most five times a second
    now[0] = 0.9
    progress.update(2500)
    progress.close()
    assert screen.getvalue() == (
        "\rscanned 1,200 of 5,000 stored articles\rscanned 2,500 of 5,000 stored articles\r\033[K"
    )
    piped = io.StringIO()
    progress = Progress(piped, 5000, clock=lambda: now[0])
    now[0] = 5.0
    progress.update(4000)
    progress.close()
    assert piped.getvalue() == ""
