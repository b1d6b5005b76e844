"""One feed update, from a claimed feed to one recorded transaction::

    store.claim_due_feeds(node, lease, limit)      -> FeedForUpdate        (the daemon claims)
    | reader.fetch(fetch_url, etag, modified)      -> FetchResult: 200 body | 304, or FetchError
    | Validators.of(body).skip_parse(feed)         -> the same bytes, or only dates: no parse
    | reader.parse(body)                           -> ParsedFeed, or NotAFeed (a page: its feed
                                                      is fetched once) or ParseError
    | identify(entries) + rekey(...)               -> Identification: keys, GUIDs trusted or not
    | Decider(now, first_sync, backfill).decide    -> EntryChange NEW | UPDATED | SAME
    | matcher.plan(change)                         -> EntryWrite: matches and alert drafts
    | next_poll_at(policy, hints)                  -> when to come back
    | recorder.record(FeedUpdateIntent)            -> feed state + entries + matches + outbox rows

Every decision is a pure function or a frozen decider of its stage (``monitor.stages``): this
module only orders the steps and does their I/O. A failing feed is a value (an ``error``
intent, backed off; ``gone`` for 410, which disables it); it never affects other feeds. Any
other exception is a bug: it is logged as critical and re-raised. Each update ends with
exactly one ``feed.updated`` log line.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

import structlog

from monitor.base.clock import Clock
from monitor.base.errors import NotAFeed, ParseError, UpdateError
from monitor.base.settings import FeedPolicy, PollPolicy
from monitor.base.types import (
    MALFORMED,
    ChangeKind,
    EntryWrite,
    FeedForUpdate,
    FeedRhythm,
    FeedUpdateIntent,
    FetchResult,
    ParsedFeed,
    PollStatus,
    RedirectSeen,
    Relocation,
    StoredEntry,
    UpdateResult,
)
from monitor.config import LoadedConfig
from monitor.flow.announce import announce, announce_identity, log_update
from monitor.flow.events import PollEvents, Unobserved
from monitor.flow.fulltext import complete
from monitor.flow.pages import PageReader
from monitor.flow.partial import Reading, partial_hints, plan_reading, seen_keys
from monitor.flow.reader import FeedReader, Fetched, read_validators
from monitor.stages.articles import resolve_language, with_language
from monitor.stages.decide import (
    Decider,
    Identification,
    identify,
    rekey,
    shared_links,
    unknown_items,
)
from monitor.stages.fetch import Fetcher
from monitor.stages.polling import failed_intent, follow_redirect, next_poll_at
from monitor.stages.schedule import PollHints, cache_lifetime, entry_interval, quiet_for
from monitor.store.feeds import RecordOutcome

log = structlog.get_logger("newsmon.feed")


class PipelineStore(Protocol):
    """The slice of the store a feed update reads (:class:`monitor.store.Store` has it)."""

    now: Clock

    async def release_feed(self, feed_id: int, node: str) -> None: ...

    async def get_entries_for_update(
        self, feed_id: int, keys: Iterable[str]
    ) -> dict[str, StoredEntry]: ...

    async def find_entries(
        self, feed_id: int, links: Iterable[str], hashes: Iterable[str]
    ) -> tuple[dict[str, StoredEntry], dict[str, StoredEntry]]: ...

    async def story_rules(self, story_ids: Iterable[int]) -> dict[int, set[str]]: ...

    async def get_newest_entry_date(self, feed_id: int, before: datetime) -> datetime | None: ...


class Recorder(Protocol):
    """Where a poll's outcome goes (:class:`monitor.store.batch.PollRecorder`)."""

    async def record(self, intent: FeedUpdateIntent) -> RecordOutcome: ...


@dataclass
class Pipeline:
    store: PipelineStore
    reader: FeedReader
    node: str
    recorder: Recorder
    rng: random.Random = field(default_factory=random.Random)
    on_alerts: Callable[[int], None] | None = None
    events: PollEvents = field(default_factory=Unobserved)
    pages: PageReader | None = None  # None: entries keep the feed's text (full_text: never)

    @property
    def fetcher(self) -> Fetcher:
        return self.reader.fetcher

    async def update_feed(self, feed: FeedForUpdate, config: LoadedConfig) -> UpdateResult:
        """Poll, decide, match and record one claimed feed; returns what happened."""
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(feed=feed.url):
            try:
                result = await self._update(feed, config)
            except Exception as e:
                self.events.feed_crashed(time.monotonic() - started)
                # The exception itself: async log calls format in a thread, where
                # ``exc_info=True`` would find no exception.
                await log.acritical(
                    "feed.updated",
                    status=PollStatus.CRITICAL,
                    reason="unexpected error",
                    exc_info=e,
                )
                raise
            seconds = time.monotonic() - started
            self.events.feed_updated(result, seconds)
            await log_update(result, seconds)
            if result.alerts and self.on_alerts:
                self.on_alerts(result.alerts)
            return result

    async def _update(self, feed: FeedForUpdate, config: LoadedConfig) -> UpdateResult:
        policy = config.policies.get(feed.url)
        now = self.store.now()
        if policy is None:  # removed from the config while it was being claimed
            await self.store.release_feed(feed.id, self.node)
            return UpdateResult(feed.url, PollStatus.REMOVED)
        try:
            intent = await self._poll(feed, policy, config, now)
        except UpdateError as e:
            intent = failed_intent(feed, policy.poll, e, now, self.rng)
        outcome = await self.recorder.record(intent)
        if not outcome.recorded:
            error = "another node took over this feed"
            return UpdateResult(feed.url, PollStatus.LEASE_LOST, error=error)
        await announce(feed, intent, policy.poll)
        return _result(feed, intent, outcome)

    async def _poll(
        self, feed: FeedForUpdate, policy: FeedPolicy, config: LoadedConfig, now: datetime
    ) -> FeedUpdateIntent:
        fetched = await self._fetch(feed, feed.fetch_url, policy, conditional=True)
        hints = await self._hints(feed, fetched.result, policy.poll, now)
        unchanged = self._intent(feed, fetched, PollStatus.NOT_MODIFIED, policy, hints, now)
        if fetched.result.not_modified:
            return unchanged
        validators = await read_validators(fetched.result)
        skipped = validators.skip_parse(feed)
        if skipped is not None:
            return validators.saved_by(replace(unchanged, status=skipped))
        reading = plan_reading(feed, fetched.result, now)
        parsed, followed, reading = await self._read(feed, fetched, reading, policy, now)
        if followed is not fetched:  # a page led to its feed: save the feed's validators
            validators = await read_validators(followed.result)
        if parsed.warning:
            await log.awarning("feed.malformed", warning=parsed.warning)
        published = tuple(e.published for e in parsed.entries)
        rhythm = FeedRhythm(entry_interval(published, now), parsed.publisher_interval)
        if reading.partial:  # only the changed items were read: the stored rhythm stands
            hints = partial_hints(hints, published, now)
        else:
            hints = replace(
                hints,
                entry_interval=rhythm.entry_interval,
                quiet_for=quiet_for(published, now),
                publisher_interval=rhythm.publisher_interval,
            )
        writes, ident = await self._decide(feed, policy, config, parsed, now)
        if ident.mode != feed.identity:
            await announce_identity(feed.identity, ident.mode)
        return validators.saved_by(
            replace(
                self._intent(feed, followed, PollStatus.OK, policy, hints, now),
                # A success, with the warning kept where `newsmon feeds` shows it.
                error=parsed.warning,
                error_kind=MALFORMED if parsed.warning else None,
                title=parsed.title,
                entries=tuple(writes),
                rhythm=None if reading.partial else rhythm,
                identity=ident.mode if ident.mode != feed.identity else None,
                # a first sync has no entries to mark as seen or gone, nor a partial read
                seen=seen_keys(feed, ident, reading),
                items=reading.items if followed is fetched else None,
            )
        )

    def _intent(
        self,
        feed: FeedForUpdate,
        fetched: Fetched,
        status: PollStatus,
        policy: FeedPolicy,
        hints: PollHints,
        now: datetime,
    ) -> FeedUpdateIntent:
        when = next_poll_at(policy.poll, hints, now, self.rng)
        return FeedUpdateIntent(
            feed.id, now, when, status, redirect=fetched.redirect, relocation=fetched.relocation
        )

    async def _hints(
        self, feed: FeedForUpdate, result: FetchResult, policy: PollPolicy, now: datetime
    ) -> PollHints:
        """What the feed and its server said of their rhythm, before any parse."""
        return PollHints(
            entry_interval=feed.entry_interval,
            quiet_for=await self._quiet_for(feed, policy, now),
            publisher_interval=feed.publisher_interval,
            cache_lifetime=cache_lifetime(result.headers, now),
        )

    async def _quiet_for(
        self, feed: FeedForUpdate, policy: PollPolicy, now: datetime
    ) -> float | None:
        """How long an adaptive feed has been silent, by its newest stored entry: this grows
        between parses, while the server answers 304 or the same bytes."""
        if not policy.adaptive:
            return None
        return quiet_for([await self.store.get_newest_entry_date(feed.id, now)], now)

    async def _fetch(
        self, feed: FeedForUpdate, url: str, policy: FeedPolicy, *, conditional: bool
    ) -> Fetched:
        result = await self.reader.fetch(
            url,
            policy,
            etag=feed.etag if conditional else None,
            last_modified=feed.last_modified if conditional else None,
        )
        redirect, relocation = follow_redirect(feed, result.moved_to)
        return Fetched(result, redirect, relocation)

    async def _read(
        self,
        feed: FeedForUpdate,
        fetched: Fetched,
        reading: Reading,
        policy: FeedPolicy,
        now: datetime,
    ) -> tuple[ParsedFeed, Fetched, Reading]:
        """Parse the changed items alone when the reading says so, else the whole body."""
        if reading.partial:
            try:
                return await self.reader.parse(reading.result, policy), fetched, reading
            except ParseError:  # the partial document would not parse: read the whole body
                reading = reading.whole(fetched.result, now)
        parsed, followed = await self._parse(feed, fetched, policy)
        return parsed, followed, reading

    async def _parse(
        self, feed: FeedForUpdate, fetched: Fetched, policy: FeedPolicy
    ) -> tuple[ParsedFeed, Fetched]:
        """Parse the body; a page given instead of a feed is followed to the feed it links to,
        while the feed has never been read (a feed that later serves HTML is broken, not moved).
        """
        try:
            return await self.reader.parse(fetched.result, policy), fetched
        except NotAFeed as e:
            if not e.links or feed.synced or feed.effective_url is not None:
                raise
            link = e.links[0]
        found = await self._fetch(feed, link, policy, conditional=False)
        parsed = await self.reader.parse(found.result, policy)
        await log.ainfo("feed.discovered", page=fetched.result.url, feed_url=link)
        return parsed, Fetched(found.result, RedirectSeen(None, 0), Relocation(link, "discovered"))

    async def _decide(
        self,
        feed: FeedForUpdate,
        policy: FeedPolicy,
        config: LoadedConfig,
        parsed: ParsedFeed,
        now: datetime,
    ) -> tuple[list[EntryWrite], Identification]:
        ident, stored = await self._identify(feed, parsed)
        decider = Decider(now, first_sync=not feed.synced, backfill=policy.backfill)
        changes = [
            change
            for change in decider.decide(ident.items, stored)
            if change.kind is not ChangeKind.SAME
            or (change.stored is not None and change.stored.key != change.key)  # re-keyed
        ]
        # Pages first: the language is told, and the rules match, on the page's text.
        completed = await complete(changes, parsed.entries, policy, self.pages, now)
        edited = {c.stored.story_id for c in changes if c.material and c.stored is not None}
        alerted = await self.store.story_rules(s for s in edited if s is not None)
        shared = shared_links(ident)
        writes = []
        for done in completed:
            change = done.change
            decision = resolve_language(change.entry, policy.language, policy.default_language)
            change = replace(change, entry=with_language(change.entry, decision))
            write = config.matcher.plan(
                change, policy, alerted, now, shared_link=change.canonical_url in shared
            )
            writes.append(
                replace(write, page=done.page, feed_content=done.feed_content, page_at=done.page_at)
            )
        return writes, ident

    async def _identify(
        self, feed: FeedForUpdate, parsed: ParsedFeed
    ) -> tuple[Identification, Mapping[str, StoredEntry]]:
        """Identify the document's entries and find what the store knows of them.

        An entry whose key is unknown but whose link (or, without a link, whose text) is known
        is that entry under a new key (:func:`rekey`); when that happens to entries known by
        their GUIDs, the feed moves down the identity chain for good, and is identified again.
        A feed never synced has no entries stored: its first sync asks the store nothing.
        """
        mode = feed.identity
        if not feed.synced:  # entries are only written by a success, which syncs the feed
            return identify(parsed.entries, mode), {}
        while True:
            ident = identify(parsed.entries, mode)
            stored = await self.store.get_entries_for_update(feed.id, [i.key for i in ident.items])
            unknown = unknown_items(ident, stored)
            if not unknown:
                return ident, stored
            by_link, by_hash = await self.store.find_entries(
                feed.id,
                (i.canonical_url for i in unknown if i.canonical_url),
                (i.content_hash for i in unknown if not i.canonical_url),
            )
            found = rekey(ident, stored, unknown, by_link, by_hash)
            if found.mode is None:
                return ident, found.stored
            mode = found.mode


def _result(feed: FeedForUpdate, intent: FeedUpdateIntent, outcome: RecordOutcome) -> UpdateResult:
    writes = intent.entries
    return UpdateResult(
        feed.url,
        intent.status,
        sum(1 for w in writes if w.change.kind is ChangeKind.NEW),
        sum(1 for w in writes if w.change.kind is ChangeKind.UPDATED),
        sum(1 for w in writes if w.matches),
        outcome.alerts,
        None if intent.error_kind == MALFORMED else intent.error,  # logged as feed.malformed
        intent.failing,
    )
