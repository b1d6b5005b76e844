"""``newsmon feeds`` shows a page of feeds, not 100,000 rows, with a tally of them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import FakeClock, FeedServer, run_once
from tests.test_cli import newsmon


async def test_feeds_pages_and_tallies_every_feed(
    write_config: Any, tmp_path: Path, feeds: FeedServer, seed_feed: bytes, clock: FakeClock
) -> None:
    urls = [feeds.set(f"f{n}.xml", seed_feed) for n in range(7)]
    urls.append(feeds.set("missing.xml", b"", status=404))
    config = str(write_config(state=tmp_path / "s.db", feeds=urls))
    await run_once(config, clock)

    code, out, _ = await newsmon("feeds", "--limit", "3", "--page", "2", "--config", config)
    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith(("ok ", "error "))]) == 3
    assert "8 feeds: 1 error, 7 ok" in out
    assert "shown: 4-6; --page 3 for more; --all for every feed" in out

    code, out, _ = await newsmon(
        "feeds", "--json", "--limit", "3", "--page", "3", "--config", config
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["url"] for row in rows] == sorted(urls)[6:]
    assert all(row["entries"] == (0 if "missing" in row["url"] else 3) for row in rows)

    code, out, _ = await newsmon("feeds", "--all", "--json", "--config", config)
    assert len(out.splitlines()) == 8

    code, _, err = await newsmon("feeds", "--page", "0", "--config", config)
    assert code == 2
    assert "--page start at 1" in err
