"""``newsmon demo``: the whole flow offline, in a few seconds.

It serves the bundled seed feed (an Indonesian article about Belarus and sanctions beside two
unrelated items) on 127.0.0.1, runs newsmon once against it with backfill on, receives the
webhooks on a local receiver and prints them.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from monitor.config import load_config

DEMO_CONFIG = """\
state: sqlite:///{state}
defaults:
  first_sync: alert        # a demo wants alerts on what is already in the feed
  allow_private: true      # the demo's feed is served on 127.0.0.1
feeds:
  - url: {base}/feed.xml
    name: Tagar (demo)
    language: id
rules:
  - id: belarus
    name: Belarus
    query: 'Belarus* OR Minsk OR Lukashenko'
  - id: sanksi
    name: Sanctions
    query: 'sanksi OR embargo OR sanction*'
sinks:
  receiver:
    type: webhook
    url: {base}/hook
    secret: whsec_ZGVtby1zZWNyZXQtZm9yLW5ld3Ntb24tZGVtbw==
"""


def seed_feed() -> bytes:
    return resources.files("monitor.data").joinpath("seed-feed.xml").read_bytes()


async def start_demo_server(feed: bytes) -> tuple[web.AppRunner, str, list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    async def serve_feed(request: web.Request) -> web.Response:
        return web.Response(body=feed, content_type="application/rss+xml")

    async def receive(request: web.Request) -> web.Response:
        received.append({"headers": dict(request.headers), "body": await request.json()})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/feed.xml", serve_feed)
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}", received


def describe(delivery: dict[str, Any]) -> str:
    data = delivery["body"]["data"]
    article = data["article"]
    lines = [
        f"webhook {delivery['headers'].get('webhook-id')}  {delivery['body']['type']}",
        f"  rule:      {data['rule']['id']} ({data['rule']['name']})",
        f"  article:   {article['title']}",
        f"  url:       {article['url']}",
        f"  feed:      {article['feed']['name']}   published {article['published']}",
        f"  matched:   {', '.join(sorted({hit['text'] for hit in data['hits']}))}",
    ]
    for hit in data["hits"][:2]:
        quote = textwrap.shorten(hit["snippet"], 110, placeholder="…")
        lines.append(f"  in {hit['field']:<8} “{quote}”")
    return "\n".join(lines)


async def run_demo() -> int:
    from monitor.app.daemon import Daemon

    runner, base, received = await start_demo_server(seed_feed())
    try:
        with tempfile.TemporaryDirectory(prefix="newsmon-demo-") as tmp:
            config = Path(tmp) / "newsmon.yaml"
            config.write_text(DEMO_CONFIG.format(state=Path(tmp) / "demo.db", base=base))
            print(f"Serving the seed feed at {base}/feed.xml (3 items: one about Belarus and")
            print("sanctions, one about chili prices, one about football).")
            print(f"Running newsmon once with a webhook receiver at {base}/hook ...\n")
            async with Daemon(load_config(config), parse_pool=None) as daemon:
                summary = await daemon.run_once()
    finally:
        await runner.cleanup()
    for delivery in received:
        print(describe(delivery), end="\n\n")
    print(
        f"{len(received)} webhook(s) received for {summary.new} new entries "
        f"(the two unrelated items matched no rule)."
    )
    print("Payload of the first one:\n")
    if received:
        print(json.dumps(received[0]["body"], indent=2, ensure_ascii=False)[:1500])
    return 0 if received else 1
