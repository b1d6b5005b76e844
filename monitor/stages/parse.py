"""Parsing feed bodies into plain data, in worker processes that a deadline can kill.

:func:`parse_feed` reads RSS and Atom with feedparser and JSON Feed with
:mod:`monitor.stages.jsonfeed`; an HTML page is a :class:`NotAFeed` that carries the feed links
the page announces. Before feedparser sees a body, :func:`monitor.stages.xmlsafe.screen_xml`
refuses entity tricks it does not survive. feedparser is given bytes wrapped in ``BytesIO``,
never a string: a string that looks like a path or URL would be opened or fetched by feedparser
itself.

Parsing is CPU-bound (tens of ms per feed, seconds for bad ones), so :class:`ParsePool` runs it
in worker processes: the event loop keeps polling and delivering while a feed is parsed, and both
cores are used. A ``ProcessPoolExecutor`` cannot stop one task, so the pool is our own: each
worker parses one feed at a time over a pipe, and a parse that passes its deadline gets its
worker killed (SIGKILL) and replaced, while the other workers go on with other feeds.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import importlib
import io
import multiprocessing
import os
import pickle
import resource
import signal
import xml.sax
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

import feedparser

from monitor.base.errors import NotAFeed, ParseError, ParseTimeout, UnsafeXML, UpdateError
from monitor.base.text import html_to_text
from monitor.base.types import ParsedEntry, ParsedFeed
from monitor.stages.discover import find_feed_links, looks_like_html
from monitor.stages.facts import with_facts
from monitor.stages.jsonfeed import looks_like_json, parse_json_feed
from monitor.stages.rhythm import publisher_interval
from monitor.stages.xmlsafe import screen_xml

# Bozo exceptions after which feedparser still read the document correctly.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _read_anyway(problem: Exception) -> bool:
    """Whether feedparser read the document despite ``problem``: an undefined entity (``&bogus;``
    in a title) stops expat, and the lenient parser reads the rest, with or without entries."""
    return isinstance(problem, xml.sax.SAXParseException) and (
        problem.getMessage() == "undefined entity"
    )


ParseFunction = Callable[[bytes, str, Mapping[str, str]], ParsedFeed]


def _text(detail: Mapping[str, Any] | None, value: str | None) -> str:
    if not value:
        return ""
    if detail is not None and detail.get("type") == "text/plain":
        return " ".join(value.split())
    return html_to_text(value)


def _date(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None


def _entry(raw: Mapping[str, Any], language: str | None) -> ParsedEntry:
    contents = [_text(c, c.get("value")) for c in raw.get("content", ()) if c.get("value")]
    summary = _text(raw.get("summary_detail"), raw.get("summary"))
    content = "\n\n".join(dict.fromkeys(c for c in contents if c))
    title_detail = raw.get("title_detail") or {}
    return ParsedEntry(
        guid=(raw.get("id") or None),
        link=(raw.get("link") or None),
        title=_text(title_detail, raw.get("title")),
        summary=summary if summary != content else "",
        content=content,
        published=_date(raw),
        language=title_detail.get("language") or language,
        author=raw.get("author") or None,
    )


def _html_page(body: bytes, url: str) -> NotAFeed:
    links = [link.url for link in find_feed_links(body, url)]
    if not links:
        return NotAFeed(url, "not a feed: an HTML page that links to no feed")
    return NotAFeed(url, f"not a feed: an HTML page; it links to {', '.join(links)}", links)


def _charset_warning(content_type: str | None, used: str | None) -> str | None:
    """A note when the server's ``charset=`` was wrong and feedparser read the body otherwise
    (a missing charset is no news: feedparser sniffs, and so do browsers)."""
    declared = Message()
    declared["content-type"] = content_type or ""
    charset = declared.get_param("charset")
    if not isinstance(charset, str) or not used:
        return None
    try:
        if codecs.lookup(charset).name == codecs.lookup(used).name:
            return None
    except LookupError:
        pass
    return f"the server says charset={charset}, but the body is {used}; read as {used}"


def _with_facts(feed: ParsedFeed) -> ParsedFeed:
    return replace(feed, entries=tuple(with_facts(e) for e in feed.entries))


def parse_feed(body: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """Parse a feed body; raise :class:`ParseError` when it is not a feed we can read. Each
    entry carries its facts (:mod:`monitor.stages.facts`), worked out here, in the worker."""
    if not body.strip():
        raise ParseError(url, "empty response body", kind="empty")
    if looks_like_json(body):
        return _with_facts(parse_json_feed(body, url))
    if looks_like_html(body):
        raise _html_page(body, url)
    body = screen_xml(body, url)
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers.setdefault("content-location", url)
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,  # we keep text only; sinks escape what they send
        resolve_relative_uris=False,
    )
    problem = result.get("bozo_exception") if result.get("bozo") else None
    if not result.get("version") and not result.entries:
        kind = response_headers.get("content-type", "no content type")
        raise NotAFeed(url, f"not a feed: neither RSS, Atom nor JSON Feed ({kind})")
    if (
        problem is not None
        and not result.entries
        and not isinstance(problem, _HARMLESS)
        and not _read_anyway(problem)
    ):
        raise ParseError(
            url, f"broken feed: {type(problem).__name__}: {problem}", kind="broken_feed"
        )
    feed = result.feed
    language = (feed.get("language") or "").strip().lower() or None
    warning = _charset_warning(response_headers.get("content-type"), result.get("encoding"))
    if problem is not None and not isinstance(problem, _HARMLESS):
        warning = f"feed is not well-formed, read leniently: {problem}"
    return ParsedFeed(
        title=feed.get("title") or None,
        link=feed.get("link") or None,
        language=language,
        entries=tuple(with_facts(_entry(raw, language)) for raw in result.entries),
        warning=warning,
        publisher_interval=publisher_interval(
            feed.get("ttl"), feed.get("sy_updateperiod"), feed.get("sy_updatefrequency")
        ),
    )


# --- the pool ----------------------------------------------------------------------------------


class Parser(Protocol):
    """What the pipeline parses with: :class:`ParsePool`, or a stand-in in tests."""

    async def parse(
        self, body: bytes, url: str, headers: Mapping[str, str], deadline: float
    ) -> ParsedFeed: ...


_ERRORS: dict[str, type[ParseError]] = {
    cls.__name__: cls for cls in (ParseError, NotAFeed, UnsafeXML, ParseTimeout)
}


def _load(target: str) -> ParseFunction:
    module, _, name = target.partition(":")
    function: ParseFunction = getattr(importlib.import_module(module), name)
    return function


def _answer(function: ParseFunction, request: bytes) -> bytes:
    body, url, headers, target = pickle.loads(request)
    try:
        if target is not None:  # another stage's work (an article page's text)
            function = _load(target)
        outcome: tuple[Any, ...] = ("ok", function(body, url, headers))
    except UpdateError as e:
        links = e.links if isinstance(e, NotAFeed) else ()
        outcome = ("error", type(e).__name__, e.message, e.kind, links)
    except MemoryError:
        outcome = ("error", "ParseError", "parsing ran out of memory", "parse_memory", ())
    except Exception as e:  # a bug in a parser library must not take the worker down
        message = f"the parser failed: {type(e).__name__}: {e}"
        outcome = ("error", "ParseError", message, "parser_failed", ())
    return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)


def _serve(conn: Connection, target: str, memory_limit: int | None) -> None:
    """A worker's loop: one request in, one answer out, until the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the daemon to handle
    if memory_limit:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            memory_limit = min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, hard))
    function = _load(target)
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send_bytes(_answer(function, request))


def _round_trip(conn: Connection, request: bytes) -> bytes:
    conn.send_bytes(request)
    return conn.recv_bytes()


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection

    def stop(self) -> None:
        """Kill the process and reap it (blocking, briefly); a thread still waiting for its
        answer then reads end-of-file and returns."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        with contextlib.suppress(OSError):
            self.conn.close()


class ParsePool:
    """Worker processes started by a fork server (safe beside aiosqlite's threads).

    ``target`` names the parse function as ``module:function`` (tests name a slow one);
    ``memory_limit`` caps each worker's address space, a backstop under the XML screen.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        target: str = "monitor.stages.parse:parse_feed",
        memory_limit: int | None = None,
    ) -> None:
        self.size = workers or os.cpu_count() or 2
        self.target = target
        self.memory_limit = memory_limit
        self.killed = 0
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["monitor.stages.parse"])
        # Blocking pipe I/O and process start-up happen in these threads, never on the loop.
        self._threads = ThreadPoolExecutor(self.size + 1, thread_name_prefix="newsmon-parse")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._workers: set[_Worker] = set()
        self._closed = False

    @property
    def pids(self) -> set[int]:
        return {w.process.pid for w in self._workers if w.process.pid is not None}

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(child, self.target, self.memory_limit),
            name="newsmon-parse",
            daemon=True,
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    async def _start_worker(self) -> None:
        assert self._idle is not None
        loop = asyncio.get_running_loop()
        worker = await loop.run_in_executor(self._threads, self._spawn)
        if self._closed:
            worker.stop()
            return
        self._workers.add(worker)
        self._idle.put_nowait(worker)

    async def _acquire(self) -> _Worker:
        if self._idle is None:
            self._idle = asyncio.Queue()
            await asyncio.gather(*(self._start_worker() for _ in range(self.size)))
        return await self._idle.get()

    async def parse(
        self, body: bytes, url: str, headers: Mapping[str, str], deadline: float
    ) -> ParsedFeed:
        """Parse in a worker within ``deadline`` seconds (waiting for a free worker excluded)."""
        parsed: ParsedFeed = await self.run(None, body, url, headers, deadline)
        return parsed

    async def run(
        self,
        target: str | None,
        body: bytes,
        url: str,
        headers: Mapping[str, str],
        deadline: float,
    ) -> Any:
        """Run ``target`` (``module:function``; None: the pool's parse function) on a body in a
        worker, within ``deadline`` seconds; its errors are raised here as they were there."""
        if self._closed:
            raise RuntimeError("the parse pool is closed")
        request = pickle.dumps((body, url, dict(headers), target), protocol=pickle.HIGHEST_PROTOCOL)
        worker = await self._acquire()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(deadline):
                answer = await loop.run_in_executor(
                    self._threads, _round_trip, worker.conn, request
                )
        except TimeoutError:
            await self._replace(worker)
            raise ParseTimeout(url, f"parsing took longer than {deadline:g}s; stopped") from None
        except (EOFError, OSError) as e:
            await self._replace(worker)
            raise ParseError(
                url, f"the parser process died ({type(e).__name__})", kind="parser_died"
            ) from None
        except BaseException:
            await asyncio.shield(self._replace(worker))  # cancelled mid-parse: state unknown
            raise
        assert self._idle is not None
        self._idle.put_nowait(worker)
        return _outcome(pickle.loads(answer), url)

    async def _replace(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        self.killed += 1
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._threads, worker.stop)
        if not self._closed:
            await self._start_worker()

    async def close(self) -> None:
        """Stop every worker; parses still running fail."""
        self._closed = True
        loop = asyncio.get_running_loop()
        workers, self._workers = self._workers, set()
        await asyncio.gather(*(loop.run_in_executor(self._threads, w.stop) for w in workers))
        self._threads.shutdown(wait=False, cancel_futures=True)


def _outcome(answer: tuple[Any, ...], url: str) -> Any:
    if answer[0] == "ok":
        return answer[1]
    _, name, message, kind, links = answer
    if name == "NotAFeed":
        raise NotAFeed(url, message, links)
    raise _ERRORS.get(name, ParseError)(url, message, kind=kind)


async def parse_in(
    pool: Parser | None, body: bytes, url: str, headers: Mapping[str, str], deadline: float
) -> ParsedFeed:
    """Parse in ``pool`` (None = the calling thread, for tests and tools) within ``deadline``."""
    if pool is None:
        return parse_feed(body, url, headers)
    return await pool.parse(body, url, headers, deadline)
