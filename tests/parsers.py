"""Parse functions and parsers for tests: a slow one for the worker pool, a counting one inline.

``parse_slowly`` is named by ``ParsePool(target="tests.parsers:parse_slowly")`` and runs in the
worker processes: a body containing ``<!-- hang -->`` makes it sleep for a minute first, a feed
whose parse never ends as far as the daemon can tell; ``<!-- slow -->`` makes it take a second.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from monitor.base.types import ParsedFeed
from monitor.stages.parse import parse_feed

HANG = b"<!-- hang -->"
SLOW = b"<!-- slow -->"


def parse_slowly(body: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    if HANG in body:
        time.sleep(60)
    if SLOW in body:
        time.sleep(1)
    return parse_feed(body, url, headers)


class CountingParser:
    """The real parse, in the calling thread, counting the bodies it is given."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def parse(
        self, body: bytes, url: str, headers: Mapping[str, str], deadline: float
    ) -> ParsedFeed:
        self.urls.append(url)
        return parse_feed(body, url, headers)


DIE = b"<!-- die -->"
GREEDY = b"<!-- greedy -->"


def parse_or_die(body: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Parses, except that a marked body makes the worker process exit on the spot."""
    if DIE in body:
        os._exit(3)
    if GREEDY in body:
        hoard = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GiB, if it were allowed
        del hoard
    return parse_slowly(body, url, headers)
