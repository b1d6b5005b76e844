"""A poll's teaser entries completed with their article pages, before they are matched.

The pages of one poll are read side by side, and the poll waits for them at most the feed's
``full_text_wait`` (default 5 s): what has not arrived by then is recorded as owed, with the
entry, in its transaction, and the entry's alerts go out on the feed's text; the page reader
(:mod:`monitor.flow.owed`) completes it later, alerting the rules that match only then.

Only entries that may alert get a page: a first sync records its backlog silently, and reading
thirty pages for it would alert nobody. An edit whose entry already has its page keeps that
page's text, and reads the page again at most once per poll interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.base.settings import FeedPolicy
from monitor.base.types import ChangeKind, EntryChange, PageWrite, ParsedEntry
from monitor.flow.pages import RETRY_AFTER, PageOutcome, PageReader, for_good
from monitor.stages.teaser import FullText, Verdict, carries_articles, wants_page

OWED = "owed"
DONE = "done"
FALLBACK = "fallback"


@dataclass(frozen=True)
class Completed:
    """A change with its entry's content from its page where one was read in time."""

    change: EntryChange
    page: PageWrite | None = None
    feed_content: str | None = None
    page_at: datetime | None = None


def page_write(outcome: PageOutcome) -> PageWrite:
    """The page row a poll writes: read, fallen back, or (a failure that may pass: a timeout,
    a 5xx) owed to the page reader, which tries again in a minute."""
    if outcome.done:
        return PageWrite(outcome.url, DONE, DONE)
    if for_good(outcome, 1):
        return PageWrite(outcome.url, FALLBACK, outcome.kind, outcome.reason)
    return PageWrite(outcome.url, OWED, outcome.kind, outcome.reason, retry_in=RETRY_AFTER)


def feed_text(entry: ParsedEntry) -> str:
    return entry.content if len(entry.content) >= len(entry.summary) else entry.summary


def _wanted(
    change: EntryChange, policy: FeedPolicy, articles: bool, now: datetime
) -> Verdict | None:
    """Why this change's page is read now, or None."""
    if not change.alert or change.kind is ChangeKind.SAME:
        return None
    stored = change.stored
    if stored is not None and stored.page is not None:
        _, read_at = stored.page
        if now - read_at < timedelta(seconds=policy.poll.interval):
            return None  # read within the interval: the stored page's text is kept
    return wants_page(change.entry, FullText(policy.full_text), feed_carries_articles=articles)


def _kept(change: EntryChange) -> Completed:
    """An edit of an entry completed before: the page's text stays its content."""
    stored = change.stored
    if stored is None or stored.page is None or change.kind is ChangeKind.SAME:
        return Completed(change)
    text, read_at = stored.page
    entry = replace(change.entry, content=text)
    return Completed(replace(change, entry=entry), None, change.entry.content, read_at)


async def complete(
    changes: Sequence[EntryChange],
    entries: Sequence[ParsedEntry],
    policy: FeedPolicy,
    reader: PageReader | None,
    now: datetime,
) -> list[Completed]:
    """Each change, its entry completed with its page where the page came in time."""
    may_alert = any(c.alert and c.kind is not ChangeKind.SAME for c in changes)
    if reader is None or policy.full_text == FullText.NEVER.value or not may_alert:
        return [_kept(c) for c in changes]
    articles = carries_articles(entries)
    wanted = {i: c for i, c in enumerate(changes) if _wanted(c, policy, articles, now)}
    tasks = {
        i: asyncio.create_task(reader.read(c.entry.link or "", policy, feed_text(c.entry)))
        for i, c in wanted.items()
    }
    if tasks:
        _, late = await asyncio.wait(tasks.values(), timeout=policy.page_wait)
        for pending in late:
            pending.cancel()  # the page reader reads it again, with the whole fetch deadline
        await asyncio.gather(*late, return_exceptions=True)
    completed = []
    for i, change in enumerate(changes):
        task = tasks.get(i)
        if task is None:
            completed.append(_kept(change))
        elif task.cancelled():
            completed.append(Completed(change, PageWrite(change.entry.link or "", OWED)))
        else:
            completed.append(_with_page(change, task.result(), now))
    return completed


def _with_page(change: EntryChange, outcome: PageOutcome, now: datetime) -> Completed:
    if outcome.text is None:
        return replace(_kept(change), page=page_write(outcome))
    entry = replace(change.entry, content=outcome.text)
    return Completed(replace(change, entry=entry), page_write(outcome), change.entry.content, now)
