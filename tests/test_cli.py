"""The ``newsmon`` command as users run it: real processes, exit codes, signals, loopback I/O."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.stages.parse import parse_feed
from tests.configs import config_text, rule, webhook
from tests.conftest import WEBHOOK_SECRET, FeedServer, Receiver

NEWSMON = [sys.executable, "-m", "monitor"]


async def newsmon(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    """Run the CLI in a subprocess while this loop keeps serving the loopback fixtures."""
    proc = await asyncio.create_subprocess_exec(
        *NEWSMON,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    async with asyncio.timeout(timeout):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


BELARUS = rule("belarus", "Belarus*")


def daemon_config(tmp_path: Path, feed: str, hook: str, *rules: dict[str, str]) -> str:
    """A daemon's config: one feed polled every second, its rules (``belarus`` unless given),
    one webhook."""
    return config_text(
        state=f"sqlite:///{tmp_path / 's.db'}",
        defaults={"interval": "1s", "backfill": "all"},
        feeds=[feed],
        rules=rules or [BELARUS],
        sinks={"hook": webhook(hook)},
    )


async def test_check_accepts_the_shipped_config() -> None:
    code, out, _ = await newsmon("check", "--config", "config/newsmon.yaml")
    assert code == 0
    assert "OK (7 feeds, 3 rules, 1 sink)" in out


async def test_check_lists_every_problem_with_its_position(write_config) -> None:
    """A syntax error (in an included file), an unknown key and a missing sink: all three."""
    write_config("rules:\n  - id: x\n    query: 'a' b\n", name="rules.yaml")
    main = write_config(
        "include: rules.yaml\nfeeds:\n  - url: http://a.example/f\n    colour: red\n"
        "rules:\n  - id: y\n    query: 'sanksi'\n    sinks: [missing]\n"
        "sinks:\n  log: {type: log}\n"
    )
    code, out, _ = await newsmon("check", "--config", str(main))
    assert code == 1
    lines = out.splitlines()
    assert lines == [
        f"{main}:4:5: unknown key 'feeds[0].colour'",
        f"{main}:8:13: rule 'y': unknown sink 'missing' (sinks: log)",
        f"{main.parent / 'rules.yaml'}:3:16: YAML syntax error: expected <block end>, but found"
        " '<scalar>' (while parsing a block mapping at "
        f"{main.parent / 'rules.yaml'}:2:5)",
    ]


async def test_check_json_and_the_environment_default(write_config) -> None:
    path = write_config("feeds:\n  - url: nope\n")
    code, out, _ = await newsmon("check", "--json", env={"NEWSMON_CONFIG": str(path)})
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["problems"][0]["line"] == 2
    assert report["problems"][0]["col"] == 10


@pytest.mark.parametrize("args", [[], ["run", "--bogus"], ["alerts", "replay"], ["frobnicate"]])
async def test_usage_errors_exit_2(args: list[str]) -> None:
    code, _, err = await newsmon(*args)
    assert code == 2
    assert "usage:" in err


async def test_run_with_a_broken_config_exits_1(write_config) -> None:
    path = write_config("feeds: {url: 1}\n")
    code, _, err = await newsmon("run", "--once", "--config", str(path))
    assert code == 1
    assert f"{path}:1:8:" in err


async def test_run_once_polls_delivers_and_reports(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(daemon_config(tmp_path, url, receiver.url))
    started = datetime.now(UTC)
    code, out, err = await newsmon("run", "--once", "--json", "--config", str(config))
    assert code == 0, err
    assert json.loads(out) == {
        "feeds": {"ok": 1},
        "new": 3,
        "alerts": 1,
        "deliveries": {"delivered": 1},
        "crashed": 0,
        "failing": 0,
    }
    assert len(receiver.deliveries) == 1
    summary = [json.loads(line) for line in err.splitlines() if '"feed.updated"' in line]
    assert summary[0]["status"] == "ok"
    assert summary[0]["new"] == 3

    code, out, _ = await newsmon("feeds", "--json", "--config", str(config))
    assert code == 0
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["url"], row["last_status"], row["entries"]) == (url, "ok", 3)
    assert (row["state"], row["consecutive_failures"]) == ("ok", 0)
    assert (row["last_error"], row["last_error_kind"]) == (None, None)
    last_success, next_poll = (
        datetime.fromisoformat(row[key]) for key in ("last_success_at", "next_poll_at")
    )
    assert row["last_success_at"].endswith("Z")
    assert started <= last_success <= datetime.now(UTC)
    assert 0.9 <= (next_poll - last_success).total_seconds() <= 1.1  # interval: 1s, ±10 %

    code, out, _ = await newsmon("alerts", "--config", str(config))
    assert code == 0
    assert "delivered" in out
    assert "Belarusia dan Rusia" in out
    code, _, err = await newsmon("alerts", "replay", "msg_nope", "--config", str(config))
    assert code == 1
    assert "no dead alert" in err


async def wait_for(predicate, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


async def read_log(stream: asyncio.StreamReader, events: list[dict]) -> None:
    while line := await stream.readline():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            events.append({"event": "raw", "text": line.decode()})


@pytest.mark.slow
async def test_the_daemon_delivers_reloads_and_stops_gracefully(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """A running daemon alerts within seconds; SIGHUP with a broken config keeps the last good one;
    a good edit is picked up; SIGTERM exits 0; a restart sends nothing twice."""
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(daemon_config(tmp_path, url, receiver.url))

    async def start() -> tuple[asyncio.subprocess.Process, list[dict], asyncio.Task[None]]:
        proc = await asyncio.create_subprocess_exec(
            *NEWSMON, "run", "--config", str(config), stderr=asyncio.subprocess.PIPE
        )
        events: list[dict] = []
        assert proc.stderr is not None
        return proc, events, asyncio.create_task(read_log(proc.stderr, events))

    proc, events, reader = await start()
    try:
        await wait_for(lambda: len(receiver.deliveries) == 1)
        assert receiver.deliveries[0].json["data"]["rule"]["id"] == "belarus"

        # An edit the file watcher sees, and a SIGHUP right away: rejected once, not twice.
        config.write_text("#" * 1000 + "\nrules: [oops\n")  # room for the next edit
        proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: any(e["event"] == "config.rejected" for e in events))
        rejected = next(e for e in events if e["event"] == "config.rejected")
        assert rejected["problems"][0].startswith(f"{config}:3:1: YAML syntax error")
        await asyncio.sleep(1.5)  # three watch ticks
        assert sum(e["event"] == "config.rejected" for e in events) == 1

        # An edit the watcher cannot see (same size, same mtime): only SIGHUP reloads it.
        unseen = config.stat()
        good = daemon_config(tmp_path, url, receiver.url, BELARUS, rule("sanksi", "sanksi"))
        good = good.encode()
        config.write_bytes(good + b"#" * (unseen.st_size - len(good)))
        os.utime(config, ns=(unseen.st_mtime_ns, unseen.st_mtime_ns))
        await asyncio.sleep(1.5)
        assert not any(e["event"] == "config.reloaded" for e in events)
        sent = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: any(e["event"] == "config.reloaded" for e in events))
        assert time.monotonic() - sent < 2.0
        feeds.set(
            "seed.xml",
            seed_feed.replace(
                b"</channel>", b"<item><guid>n1</guid><title>Sanksi baru</title></item></channel>"
            ),
        )
        await wait_for(lambda: len(receiver.deliveries) == 2)
        assert receiver.deliveries[1].json["data"]["rule"]["id"] == "sanksi"

        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await proc.wait() == 0
        await reader
        names = [e["event"] for e in events]
        assert names[-1] == "newsmon.stopped"
        assert names.index("newsmon.stopping") < len(names) - 1  # work may drain in between
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    proc, events, reader = await start()
    try:
        await wait_for(lambda: sum(e["event"] == "feed.updated" for e in events) >= 2)
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await proc.wait() == 0
        await reader
    assert len(receiver.deliveries) == 2


async def test_a_second_daemon_on_the_same_sqlite_state_is_refused(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(daemon_config(tmp_path, url, receiver.url))
    first = await asyncio.create_subprocess_exec(
        *NEWSMON, "run", "--config", str(config), stderr=asyncio.subprocess.PIPE
    )
    try:
        assert first.stderr is not None
        async with asyncio.timeout(15):
            while b"newsmon.started" not in await first.stderr.readline():
                pass
        code, _, err = await newsmon("run", "--once", "--config", str(config))
        assert code == 1
        assert "in use by pid" in err
    finally:
        first.send_signal(signal.SIGTERM)
        await first.wait()


async def test_demo_shows_an_alert_end_to_end() -> None:
    code, out, err = await newsmon("demo")
    assert code == 0, err
    assert "rule:      belarus (Belarus)" in out
    assert "rule:      sanksi (Sanctions)" in out
    assert "2 webhook(s) received for 3 new entries" in out


RULES_CONFIG = """\
groups:
  belarus: 'Belarus* OR Minsk OR Lukashenko'
rules:
  - id: belarus-sanctions
    query: '@belarus AND sanksi'
    exclude: 'timnas'
  - id: tanggap
    query: 'menanggapi'
sinks: {log: {type: log}}
"""


async def test_test_rules_on_the_seed_article_as_text_and_as_feed(
    write_config, seed_article: str, seed_feed: bytes
) -> None:
    """RULES.md's JSON shape: one object per article per line, hits with offsets and how."""
    config = write_config(RULES_CONFIG)
    code, out, err = await newsmon(
        "test-rules",
        "--json",
        "--config",
        str(config),
        "tests/data/seed-article.txt",
        "tests/data/seed-feed.xml",
    )
    assert code == 0, err
    articles = [json.loads(line) for line in out.splitlines()]
    assert [a["title"] for a in articles] == [
        "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal",
        "Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal",
        "Harga Cabai Rawit Naik Jelang Akhir Pekan",
        "Timnas Bersiap Hadapi Malaysia di Jakarta",
    ]
    assert [a["language"] for a in articles] == ["id"] * 4  # guessed for the text file
    text, feed_article, chili, football = articles
    # where sanksi-sanksi is in each article's content: a text file's first line is its title
    text_content = "\n".join(seed_article.strip().splitlines()[1:]).strip()
    [feed_entry, *_] = parse_feed(seed_feed, "file:seed-feed.xml", {}).entries
    for article, content in ((text, text_content), (feed_article, feed_entry.content)):
        rules = {m["rule"]: m["hits"] for m in article["matches"]}
        assert set(rules) == {"belarus-sanctions", "tanggap"}
        sanksi = [h for h in rules["belarus-sanctions"] if h["term"] == "sanksi"]
        start = content.index("sanksi-sanksi")
        assert sanksi == [
            {
                "field": "content",
                "text": "sanksi-sanksi",
                "term": "sanksi",
                "how": "stem",
                "start": start,
                "end": start + len("sanksi-sanksi"),
            }
        ]
    assert feed_article["url"].startswith("https://www.tagar.id/belarusia")
    assert chili["matches"] == []
    assert football["matches"] == []


async def test_test_rules_reads_html_from_stdin_and_explains(write_config) -> None:
    config = write_config(RULES_CONFIG)
    page = (
        b'<html lang="id"><head><title>Minsk menanggapi sanksi</title></head>'
        b"<body><article><h1>Minsk menanggapi sanksi</h1><p>Pemerintah di Minsk "
        b"menanggapi sanksi-sanksi baru.</p></article></body></html>"
    )
    proc = await asyncio.create_subprocess_exec(
        *NEWSMON,
        "test-rules",
        "--explain",
        "--config",
        str(config),
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, _ = await proc.communicate(page)
    assert proc.returncode == 0
    text = out.decode()
    # the family as applied: menanggapi (responding) is no longer one with menganggap
    # (considering), which a stemmer would have made of both
    lines = text.splitlines()
    at = lines.index(
        "  menanggapi               positive       word family (the word and the words built "
        "on it): menanggapi"
    )
    assert lines[at + 1].startswith("      id: the word and the words built on it")
    assert lines[at + 2].startswith("          finds menanggapinya")
    assert lines[at + 3].startswith("          not   ")
    assert "menganggap," in lines[at + 3].split()
    assert "== Minsk menanggapi sanksi" in text
    assert "[language: id (declared)]" in text
    assert "'sanksi-sanksi'" in text


async def test_test_rules_fetches_a_feed_url(write_config, feeds: FeedServer, seed_feed) -> None:
    config = write_config(RULES_CONFIG)
    url = feeds.set("seed.xml", seed_feed)
    code, _, err = await newsmon("test-rules", "--json", "--config", str(config), url)
    assert code == 1
    assert "not a public address" in err
    assert not feeds.hits("seed.xml")  # refused before connecting
    code, out, err = await newsmon(
        "test-rules", "--json", "--allow-private", "--config", str(config), url
    )
    assert code == 0, err
    assert len(out.splitlines()) == 3
    assert feeds.hits("seed.xml")


async def test_test_rules_reports_unreadable_sources(write_config) -> None:
    config = write_config(RULES_CONFIG)
    code, _, err = await newsmon("test-rules", "--config", str(config), "/nonexistent.xml")
    assert code == 1
    assert "/nonexistent.xml" in err


@pytest.mark.slow
async def test_rule_edits_are_picked_up_within_two_seconds_and_bad_ones_refused(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """Editing an included rule file reloads it without a restart; a broken edit is logged with
    its position and the last good rules keep running."""
    url = feeds.set("seed.xml", seed_feed)
    rules = write_config("rules:\n  - id: belarus\n    query: 'Belarus*'\n", name="rules.yaml")
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\ndefaults:\n  interval: 1s\n  allow_private: true\n"
        f"feeds:\n  - url: {url}\ninclude: rules.yaml\n"
        f"sinks:\n  hook: {{type: webhook, url: '{receiver.url}', secret: {WEBHOOK_SECRET}}}\n"
    )
    proc = await asyncio.create_subprocess_exec(
        *NEWSMON, "run", "--config", str(config), stderr=asyncio.subprocess.PIPE
    )
    events: list[dict] = []
    assert proc.stderr is not None
    reader = asyncio.create_task(read_log(proc.stderr, events))
    try:
        await wait_for(lambda: any(e["event"] == "feed.updated" for e in events))

        rules.write_text("rules:\n  - id: belarus\n    query: 'Belarus* AND'\n")
        await wait_for(lambda: any(e["event"] == "config.rejected" for e in events))
        [rejected] = [e for e in events if e["event"] == "config.rejected"]
        assert rejected["problems"] == [
            f"{rules}:3:25: rule 'belarus': query: query ends where a term was expected"
        ]

        rules.write_text(
            "rules:\n  - id: belarus\n    query: 'Belarus*'\n  - id: sanksi\n    query: 'sanksi'\n"
        )
        edited = rules.stat().st_mtime
        await wait_for(lambda: any(e["event"] == "config.reloaded" for e in events))
        [reloaded] = [e for e in events if e["event"] == "config.reloaded"]
        latency = datetime.fromisoformat(reloaded["timestamp"]).timestamp() - edited
        print(f"reload latency: {latency:.2f} s")
        assert latency < 2.0
        assert reloaded["rules"] == 2

        feeds.set(
            "seed.xml",
            seed_feed.replace(
                b"</channel>", b"<item><guid>n1</guid><title>Sanksi baru</title></item></channel>"
            ),
        )
        await wait_for(lambda: len(receiver.deliveries) == 1)
        assert receiver.deliveries[0].json["data"]["rule"]["id"] == "sanksi"
    finally:
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            assert await proc.wait() == 0
        await reader


async def test_a_410_disables_the_sink_visibly_until_it_is_enabled(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """`newsmon sinks` shows the disabled sink and why; its alert waits as pending; `sinks
    enable` lets the next run deliver it."""
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(daemon_config(tmp_path, url, receiver.url))
    receiver.answer(410)
    code, out, err = await newsmon("run", "--once", "--json", "--config", str(config))
    assert code == 0, err
    assert json.loads(out)["deliveries"] == {"disabled": 1}
    assert any('"sink.disabled"' in line for line in err.splitlines())

    code, out, _ = await newsmon("sinks", "--config", str(config))
    assert code == 0
    lines = out.splitlines()
    assert lines[1].split() == ["hook", "webhook", "disabled", "1", "0", "0", "0", "0", "-"]
    assert lines[3] == "hook"
    assert "HTTP 410 Gone" in lines[4]
    assert lines[5] == "  fix the sink, then: newsmon sinks enable hook"
    code, out, _ = await newsmon("sinks", "--json", "--config", str(config))
    assert json.loads(out)["state"] == "disabled"

    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {}  # nothing is attempted for a disabled sink
    code, out, _ = await newsmon("alerts", "--status", "pending", "--config", str(config))
    assert "last error: HTTP 410 Gone" in out

    code, out, _ = await newsmon("sinks", "enable", "hook", "--config", str(config))
    assert (code, out) == (0, "hook: enabled\n")
    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {"delivered": 1}
    assert len(receiver.deliveries) == 2
    assert len(set(receiver.ids())) == 1


async def test_a_dead_alert_is_listed_and_replayed_from_the_command_line(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    url = feeds.set("seed.xml", seed_feed)
    config = write_config(  # no retries: the first failure is final
        state=tmp_path / "s.db",
        defaults={"interval": "1s", "backfill": "all"},
        feeds=[url],
        rules=[BELARUS],
        sinks={"hook": webhook(receiver.url, retries=[])},
    )
    receiver.answer(500)
    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {"dead": 1}

    code, out, _ = await newsmon("alerts", "--status", "dead", "--json", "--config", str(config))
    [dead] = [json.loads(line) for line in out.splitlines()]
    assert (dead["state"], dead["last_error"], dead["attempts"]) == ("dead", "HTTP 500", 1)
    code, out, _ = await newsmon("alerts", "replay", dead["id"], "--config", str(config))
    assert (code, out) == (0, f"{dead['id']}: queued for delivery\n")
    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["deliveries"] == {"delivered": 1}
    assert receiver.ids() == [dead["id"], dead["id"]]


async def test_discover_lists_the_feeds_a_page_links_to(evil, seed_feed: bytes) -> None:
    feed = evil.set("feed.xml", seed_feed)
    evil.set(
        "page.html",
        b"<!DOCTYPE html><html><head><title>News</title>"
        b'<link rel="alternate" type="application/rss+xml" title="Main" href="/feed.xml">'
        b'<link rel="alternate" type="application/atom+xml" href="/gone.xml">'
        b"</head><body></body></html>",
        headers={"Content-Type": "text/html"},
    )
    page = evil.url("page.html")
    code, out, _ = await newsmon("discover", page, "--allow-private", "--config", "/nonexistent")
    assert code == 0
    assert out.splitlines() == [
        f"{page} is an HTML page; it links to 2 feeds:",
        f"  {feed}  (application/rss+xml)  'Tagar - Internasional'  3 entries",
        f"  {evil.url('gone.xml')}  (application/atom+xml)  error: HTTP 404 Not Found",
    ]
    code, out, _ = await newsmon("discover", feed, "--allow-private", "--json")
    assert code == 0
    assert json.loads(out)["is_feed"] is True
    code, out, _ = await newsmon("discover", page)
    assert code == 1
    assert "not a public address (allow_private: true allows it)" in out
    assert len(evil.hits("page.html")) == 1  # the refused attempt never reached the server


async def test_feeds_shows_moved_failing_and_disabled_feeds(
    write_config, tmp_path: Path, evil, seed_feed: bytes, clock
) -> None:
    from tests.conftest import run_once

    new = evil.set("new.xml", seed_feed)
    moved = evil.url(f"redirect?s=308&to={new}")
    broken = evil.set("broken.xml", b"", status=404)
    gone = evil.set("gone.xml", b"", status=410)
    config = write_config(
        state=tmp_path / "s.db", defaults={"failing_after": 2}, feeds=[moved, broken, gone]
    )
    for _ in range(3):
        clock.advance(86400)
        await run_once(config, clock)

    code, out, _ = await newsmon("feeds", "--config", str(config))
    assert code == 0
    assert f"  fetched from {new} (it moved permanently; the config URL stays its name)" in out
    states = {line.split()[0] for line in out.splitlines()[1:4]}
    assert states == {"ok", "failing", "disabled"}
    assert "  error (http): HTTP 404 Not Found" in out
    assert "disabled 2026-11" in out
    assert f"  to poll it again: newsmon feeds enable {gone}" in out
    assert out.splitlines()[-1] == "3 feeds: 1 disabled, 1 failing, 1 ok"

    code, out, _ = await newsmon("feeds", "--json", "--config", str(config))
    rows = {row["url"]: row for row in map(json.loads, out.splitlines())}
    assert rows[moved]["effective_url"] == new
    assert rows[broken]["state"] == "failing"
    assert rows[broken]["consecutive_failures"] == 3

    code, out, _ = await newsmon("feeds", "enable", gone, "--config", str(config))
    assert code == 0
    code, _, err = await newsmon("feeds", "enable", gone, "--config", str(config))
    assert code == 1
    assert "no disabled feed" in err


async def test_feeds_shows_a_feed_read_despite_a_problem_as_a_warning_until_a_clean_parse(
    write_config, tmp_path: Path, evil, seed_feed: bytes, clock
) -> None:
    """A body in latin-1 served as UTF-8 is read (a success), and `newsmon feeds` says so as a
    warning, also after 304s of the same body; a clean parse clears it."""
    from tests.conftest import run_once

    url = evil.set("f.xml", seed_feed.replace(b"Belarusia", "Bélarusia".encode("latin-1")))
    config = write_config(state=tmp_path / "s.db", feeds=[url])
    for expected in ("ok", "not_modified"):
        clock.advance(3600)
        assert (await run_once(config, clock)).feeds == {expected: 1}

    code, out, _ = await newsmon("feeds", "--config", str(config))
    assert code == 0
    assert out.splitlines()[1].split()[0] == "warning"
    assert "  warning (malformed): the server says charset=utf-8, but the body is " in out
    assert out.splitlines()[-1] == "1 feed: 1 warning"
    code, out, _ = await newsmon("feeds", "--json", "--config", str(config))
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["state"], row["last_status"]) == ("warning", "not_modified")
    assert row["last_error_kind"] == "malformed"
    assert row["last_error"].startswith("the server says charset=utf-8")
    assert row["consecutive_failures"] == 0
    assert row["last_success_at"] == "2026-11-25T14:00:00Z"

    evil.set("f.xml", seed_feed)
    clock.advance(3600)
    assert (await run_once(config, clock)).feeds == {"ok": 1}
    code, out, _ = await newsmon("feeds", "--json", "--config", str(config))
    [row] = [json.loads(line) for line in out.splitlines()]
    assert (row["state"], row["last_error"], row["last_error_kind"]) == ("ok", None, None)
    code, out, _ = await newsmon("feeds", "--config", str(config))
    assert "warning" not in out
