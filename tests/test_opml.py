"""Moving feed lists in and out: ``feeds import`` (OPML), ``feeds export``, ``feeds add``."""

from __future__ import annotations

import json
from pathlib import Path

import listparser

from tests.conftest import FeedServer
from tests.test_cli import newsmon

FEEDS_FILE = """\
# Our feeds. Keep the wire services first.
feeds:
  # Antara: the national wire
  - url: {known}
    name: Antara   # do not rename: rules use it
    tags: [id]
"""

MINIFLUX = """\
<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Miniflux</title></head>
  <body>
    <outline text="News">
      <outline text="World">
        <outline title="Seed" text="Seed" xmlUrl="{seed}" type="rss"/>
      </outline>
      <outline text="Again" title="Again" xmlUrl="{seed}" type="rss"/>
    </outline>
    <outline text="Tech" title="Tech" xmlUrl="{other}" type="rss" category="/Tech/AI"/>
    <outline text="Known" title="Known" xmlUrl="{known}" type="rss"/>
  </body>
</opml>
"""


def _setup(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> tuple[Path, Path, dict[str, str]]:
    urls = {
        "known": feeds.set("known.xml", seed_feed),
        "seed": feeds.set("seed.xml", seed_feed),
        "other": feeds.set("other.xml", seed_feed.replace(b"Belarus", b"Minsk")),
    }
    feeds_file = write_config(FEEDS_FILE.format(**urls), name="feeds.yaml")
    config = write_config(
        "# yaml-language-server: $schema=newsmon.schema.json\n"
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        "include: feeds.yaml\n"
        "defaults:\n  allow_private: true\n"
    )
    return config, feeds_file, urls


async def test_import_adds_new_feeds_with_folder_tags_and_keeps_the_files_comments(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    config, feeds_file, urls = _setup(write_config, tmp_path, feeds, seed_feed)
    before = feeds_file.read_text()
    opml = write_config(MINIFLUX.format(**urls), name="miniflux.opml")
    code, out, err = await newsmon("feeds", "import", str(opml), "--config", str(config))
    assert code == 0, err
    assert out.splitlines() == [
        f"added 2 feeds to {feeds_file}; 1 already there",
        f"  + {urls['seed']}  Seed  [News, World]",
        f"  + {urls['other']}  Tech  [Tech, AI]",
    ]
    after = feeds_file.read_text()
    assert after.startswith(before)  # comments, order and layout kept
    assert after[len(before) :] == (
        f"  - url: {urls['seed']}\n    name: Seed\n    tags: [News, World]\n"
        f"  - url: {urls['other']}\n    name: Tech\n    tags: [Tech, AI]\n"
    )
    code, out, _ = await newsmon("check", "--config", str(config))
    assert "OK (3 feeds" in out
    # The imported feeds are polled like any other.
    code, out, _ = await newsmon("run", "--once", "--json", "--config", str(config))
    assert json.loads(out)["feeds"] == {"ok": 3}

    code, out, _ = await newsmon("feeds", "import", str(opml), "--json", "--config", str(config))
    report = json.loads(out)
    assert (report["added"], len(report["skipped"])) == ([], 3)
    assert feeds_file.read_text() == after  # nothing twice


async def test_broken_opml_is_refused_with_its_position_and_nothing_changes(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    config, feeds_file, urls = _setup(write_config, tmp_path, feeds, seed_feed)
    before = feeds_file.read_bytes()
    broken = write_config(MINIFLUX.format(**urls).replace("</body>", ""), name="broken.opml")
    code, _, err = await newsmon("feeds", "import", str(broken), "--config", str(config))
    assert code == 1
    assert err.startswith(f"newsmon: {broken}:14:3: not well-formed XML: mismatched tag;")
    assert err.rstrip().endswith("nothing was changed")
    page = write_config("<html><body>not a feed list</body></html>", name="page.opml")
    code, _, err = await newsmon("feeds", "import", str(page), "--config", str(config))
    assert code == 1
    assert "not an OPML file (its root element is <html>)" in err
    code, _, err = await newsmon("feeds", "import", "missing.opml", "--config", str(config))
    assert (code, "missing.opml: No such file or directory" in err) == (1, True)
    assert feeds_file.read_bytes() == before


async def test_export_writes_opml_2_that_readers_import_back(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    config, _, urls = _setup(write_config, tmp_path, feeds, seed_feed)
    opml = write_config(MINIFLUX.format(**urls), name="miniflux.opml")
    await newsmon("feeds", "import", str(opml), "--config", str(config))
    code, out, _ = await newsmon("feeds", "export", "--config", str(config))
    assert code == 0
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    parsed = listparser.parse(out.encode())
    assert parsed.version == "opml2"
    got = {feed.url: (feed.title, feed.categories) for feed in parsed.feeds}
    assert got[urls["known"]] == ("Antara", [["id"]])
    assert got[urls["seed"]][1] == [["News"], ["World"]]
    out_file = tmp_path / "out.opml"
    code, out, _ = await newsmon("feeds", "export", "-o", str(out_file), "--config", str(config))
    assert out == f"wrote 3 feeds to {out_file}\n"
    assert len(listparser.parse(out_file.read_bytes()).feeds) == 3


async def test_feeds_add_finds_the_feed_behind_a_page_and_adds_it(
    write_config, tmp_path: Path, feeds: FeedServer, seed_feed: bytes
) -> None:
    config, feeds_file, urls = _setup(write_config, tmp_path, feeds, seed_feed)
    page = feeds.set(
        "page.html",
        b'<html><head><link rel="alternate" type="application/rss+xml" href="/seed.xml">'
        b"</head></html>",
        headers={"Content-Type": "text/html"},
    )
    before = feeds_file.read_text()
    args = ("feeds", "add", page, "--allow-private", "--config", str(config))
    code, out, err = await newsmon(*args, "--name", "Tagar", "--tags", "id, world")
    assert code == 0, err
    assert out == f"added {urls['seed']} (found behind {page}) to {feeds_file}: Tagar, 3 entries\n"
    assert feeds_file.read_text() == (
        before + f"  - url: {urls['seed']}\n    name: Tagar\n    tags: [id, world]\n"
    )
    code, out, _ = await newsmon(*args)
    assert (code, out) == (0, f"{urls['seed']} is already in the config\n")
    nothing = feeds.set("nothing.html", b"<html></html>", headers={"Content-Type": "text/html"})
    code, _, err = await newsmon(
        "feeds", "add", nothing, "--allow-private", "--config", str(config)
    )
    assert code == 1
    assert "no feed found" in err
    assert "nothing was changed" in err
