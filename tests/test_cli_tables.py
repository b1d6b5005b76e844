"""The tables of ``feeds``, ``alerts`` and ``sinks`` as a user sees them: coloured and fitted
to a terminal (forced through the environment, as rich reads it), plain and whole through a
pipe, and quiet when the reader of the pipe goes away."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

from monitor.base.clock import utcnow
from monitor.cli.render import shorten_url
from monitor.store import FeedSchedule, Store
from tests.conftest import WEBHOOK_SECRET, FeedServer, Receiver
from tests.test_cli import NEWSMON, newsmon

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TERMINAL = {"FORCE_COLOR": "1", "COLUMNS": "100", "NO_COLOR": ""}
PIPED = {"FORCE_COLOR": "", "NO_COLOR": "", "TTY_COMPATIBLE": ""}
LONG = "a-rather-long-path/that/names/the/section/of/the/site/" * 2


async def _filled_store(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> tuple[Path, str, str]:
    """A store filled by a real ``run --once``: one feed read, one failing behind a long URL,
    one alert delivered."""
    good = feeds.set("seed.xml", seed_feed)
    broken = feeds.set(f"{LONG}broken.xml", b"", status=404)
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        "defaults:\n  backfill: all\n  allow_private: true\n"
        f"feeds:\n  - url: {good}\n    name: Tagar\n  - url: {broken}\n"
        "rules:\n  - id: belarus\n    query: 'Belarus*'\n"
        f"sinks:\n  hook:\n    type: webhook\n    url: {receiver.url}\n"
        f"    secret: {WEBHOOK_SECRET}\n"
    )
    code, _, err = await newsmon("run", "--once", "--config", str(config))
    assert code == 0, err
    return config, good, broken


async def test_tables_are_plain_and_whole_through_a_pipe(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    config, good, broken = await _filled_store(write_config, tmp_path, feeds, receiver, seed_feed)
    code, out, _ = await newsmon("feeds", "--config", str(config), env=PIPED)
    assert code == 0
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0].split() == ["STATE", "NAME", "URL", "LAST", "OK", "FAILS", "NEXT", "ENTRIES"]
    rows = {line.split()[0]: line for line in lines[1:3]}
    assert set(rows) == {"ok", "error"}
    assert f"  {broken}  " in rows["error"]  # whole, however long
    assert f" Tagar  {good} " in rows["ok"]
    # Aligned: each row's URL starts under the header's.
    assert lines[0].index("URL") == rows["ok"].index(good) == rows["error"].index(broken)
    assert rows["ok"].split()[-1] == "3"  # entries
    assert lines[4:6] == [broken, "  error (http): HTTP 404 Not Found"]
    assert lines[-1] == "2 feeds: 1 error, 1 ok"

    code, out, _ = await newsmon("alerts", "--config", str(config), env=PIPED)
    header, row = out.splitlines()[:2]
    assert header.split() == ["ID", "STATE", "SINK", "RULE", "TRIES", "CREATED", "TITLE"]
    assert row.split()[1:5] == ["delivered", "hook", "belarus", "1"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row)  # exact times through a pipe

    code, out, _ = await newsmon("sinks", "--config", str(config), env=PIPED)
    header, row = out.splitlines()
    assert header.split() == [
        "NAME", "TYPE", "STATE", "PENDING", "DELIVERED", "DEAD", "DIGESTED", "DISCARDED", "DIGEST"
    ]  # fmt: skip
    assert row.split() == ["hook", "webhook", "enabled", "0", "1", "0", "0", "0", "-"]


async def test_tables_fit_and_colour_a_terminal_and_json_is_unchanged(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    config, good, broken = await _filled_store(write_config, tmp_path, feeds, receiver, seed_feed)
    code, out, _ = await newsmon("feeds", "--config", str(config), env=TERMINAL)
    assert code == 0
    assert "\x1b[31merror" in out  # red
    assert "\x1b[32mok" in out  # green
    plain = ANSI.sub("", out)
    assert max(len(line) for line in plain.splitlines()) <= 100
    assert broken not in plain
    assert shorten_url(broken, 40).split("…")[0] in plain  # scheme and host kept
    assert "broken.xml" in plain  # and the end of the path
    assert re.search(r"in \d+m", plain)  # the next poll, relative

    code, out, _ = await newsmon("feeds", "--json", "--config", str(config), env=TERMINAL)
    rows = {row["url"]: row for row in map(json.loads, out.splitlines())}
    assert "\x1b" not in out
    assert (rows[good]["state"], rows[broken]["state"]) == ("ok", "error")
    code, out, _ = await newsmon("sinks", "--json", "--config", str(config), env=TERMINAL)
    assert json.loads(out)["alerts"] == {"delivered": 1}


def test_urls_are_shortened_in_the_middle() -> None:
    url = "https://news.example.com/" + LONG + "feed.xml"
    short = shorten_url(url, 40)
    assert len(short) == 40
    assert short.startswith("https://news.example.com…")
    assert short.endswith("/feed.xml")
    assert shorten_url("http://a.example/f", 40) == "http://a.example/f"


async def test_piping_into_head_ends_quietly(write_config, tmp_path: Path) -> None:
    """`newsmon feeds | head -1` through a real pipe: no BrokenPipeError traceback."""
    urls = [f"http://127.0.0.1:9/{LONG}{i}.xml" for i in range(600)]  # > a pipe's 64 KiB
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\nfeeds:\n" + "".join(f"  - url: {u}\n" for u in urls)
    )
    store = await Store.open(f"sqlite:///{tmp_path / 's.db'}", utcnow)
    await store.sync_feeds([FeedSchedule(url, None, 600) for url in urls])
    await store.close()

    def through_head() -> tuple[int, bytes, bytes]:
        writer = subprocess.Popen(
            [*NEWSMON, "feeds", "--all", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert writer.stdout is not None
        head = subprocess.run(["head", "-1"], stdin=writer.stdout, capture_output=True, check=True)
        writer.stdout.close()
        _, err = writer.communicate(timeout=60)
        return writer.returncode, head.stdout, err

    code, first, err = await asyncio.to_thread(through_head)
    assert first.split()[:3] == [b"STATE", b"NAME", b"URL"]
    assert err == b""
    assert code == 141  # as a command ended by SIGPIPE


async def test_progress_shows_on_a_terminal_only(write_config, tmp_path: Path) -> None:
    """`run --once` and `prune` draw a bar on a terminal's standard error; through a pipe the
    log stays pure JSON lines and the output has no trace of a bar."""
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        "defaults:\n  allow_private: true\n  timeout: 2s\n"
        "feeds:\n" + "".join(f"  - url: http://127.0.0.1:9/{i}.xml\n" for i in range(3))
    )
    code, out, err = await newsmon("run", "--once", "--json", "--config", str(config), env=PIPED)
    assert json.loads(out)["feeds"] == {"error": 3}
    assert err
    assert all(json.loads(line)["event"] for line in err.splitlines())
    assert "polling" not in err
    code, out, err = await newsmon("prune", "--config", str(config), env=PIPED)
    assert (code, err) == (0, "")

    code, out, err = await newsmon("run", "--once", "--config", str(config), env=TERMINAL)
    assert "polling" in err
    assert "3/3" in ANSI.sub("", err)
    assert "feed.updated" in err  # the log, through the bar's console
    code, out, err = await newsmon("prune", "--config", str(config), env=TERMINAL)
    assert code == 0
    assert "pruning" in err
    assert "pruning" not in out
