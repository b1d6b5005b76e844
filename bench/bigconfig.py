"""Benchmark: a config of 100,000 feeds over 5,000 hosts: ``newsmon check``, then the sync.

Writes the YAML (about 6.5 MB: each feed a URL, a third of them with a name, a tenth with an
interval of their own), then times, each in a fresh process, ``newsmon check`` (load and
validate) and the start-up sync of the feeds into a new SQLite store and into the same store
again (nothing changed), reporting wall time and peak RSS of each.

    python bench/bigconfig.py --feeds 100000 --hosts 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYNC = """
import asyncio, sys, time
started = time.perf_counter()
from monitor.app.wiring import feed_schedules
from monitor.base.clock import utcnow
from monitor.config import load_config
from monitor.store import Store
loaded = load_config(sys.argv[1])
load = time.perf_counter() - started
async def sync():
    store = await Store.open(loaded.settings.state, utcnow)
    try:
        began = time.perf_counter()
        await store.sync_feeds(feed_schedules(loaded))
        return time.perf_counter() - began
    finally:
        await store.close()
print(load, asyncio.run(sync()))
"""


def write_config(path: Path, feeds: int, hosts: int) -> None:
    lines = [f"state: sqlite:///{path.parent / 'state.db'}", "feeds:"]
    for feed in range(feeds):
        host = feed % hosts
        lines.append(f"  - url: https://portal{host}.example/rss/{feed}.xml")
        if feed % 3 == 0:
            lines.append(f"    name: Portal {host} kanal {feed}")
        if feed % 10 == 0:
            lines.append("    interval: 30m")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)  # as a config holding secrets must be


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) of the child, and its stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd="/")
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"{' '.join(argv[:4])} failed ({child.returncode}):\n{err.read()[-2000:]!r}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=5_000)
    parser.add_argument("--code", help="run this checkout of newsmon instead")
    args = parser.parse_args()
    code = Path(args.code or Path(__file__).parent.parent).resolve()
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "newsmon.yaml"
        write_config(config, args.feeds, args.hosts)
        size = os.path.getsize(config) / 2**20
        results = {"feeds": args.feeds, "hosts": args.hosts, "yaml MiB": round(size, 1)}
        check = [sys.executable, "-m", "monitor", "check", "--config", str(config)]
        seconds, rss, _ = timed(check, env)
        results |= {"check s": round(seconds, 2), "check peak MiB": round(rss)}
        for name in ("first sync", "sync again"):
            seconds, rss, out = timed([sys.executable, "-c", SYNC, str(config)], env)
            load, sync = (float(x) for x in out.split())
            results |= {
                f"{name} s": round(seconds, 2),
                f"{name} load s": round(load, 2),
                f"{name} store s": round(sync, 2),
                f"{name} peak MiB": round(rss),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
