"""What full text costs: pages read per new entry on realistic feed shapes, and CPU per
extraction on article pages of news-site weight.

    python bench/pages.py [--rounds 20]

Pages per new entry: each shape in tests/data/teasers/ is parsed and judged as the daemon judges
it in ``full_text: auto``. Extraction: trafilatura on pages of 50, 120 and 300 KB built like a
news site's (tests/pages.py), CPU time (``time.process_time``) per page, median of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.stages.extract import extract_page  # noqa: E402
from monitor.stages.parse import parse_feed  # noqa: E402
from monitor.stages.teaser import FullText, carries_articles, wants_page  # noqa: E402
from tests.pages import article_page  # noqa: E402

SHAPES = ROOT / "tests" / "data" / "teasers"


def pages_per_entry() -> None:
    print("| feed shape | entries | pages read (auto) | per new entry |")
    print("|---|---|---|---|")
    for path in sorted(SHAPES.glob("*.xml")):
        entries = parse_feed(path.read_bytes(), f"http://127.0.0.1/{path.name}", {}).entries
        full = carries_articles(entries)
        read = sum(
            wants_page(e, FullText.AUTO, feed_carries_articles=full) is not None for e in entries
        )
        print(f"| {path.stem} | {len(entries)} | {read} | {read / len(entries):.2f} |")


def extraction(rounds: int) -> None:
    extract_page(article_page().encode(), "http://127.0.0.1/warm", {})  # the import, once
    print("\n| page | bytes | CPU ms per extraction (median) | min | max |")
    print("|---|---|---|---|---|")
    for weight in (50_000, 120_000, 300_000):
        body = article_page(weight=weight, seed=weight).encode()
        times = []
        for _ in range(rounds):
            started = time.process_time()
            extract_page(body, "http://127.0.0.1/a", {"content-type": "text/html"})
            times.append((time.process_time() - started) * 1000)
        print(
            f"| {weight // 1000} KB | {len(body):,} | {statistics.median(times):.1f} "
            f"| {min(times):.1f} | {max(times):.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    pages_per_entry()
    extraction(args.rounds)


if __name__ == "__main__":
    main()
