"""One feed update, from a claimed feed to one recorded transaction::

    store.claim_due_feeds(node, lease, limit)     -> FeedForUpdate
    | fetcher.fetch(fetch_url, etag, modified)    -> FetchResult (200 body | 304) or FetchError
    | body hash, then scan_fingerprint(body)      -> the same as last time: no parse
    | parse_in(pool, body)                        -> ParsedFeed, or NotAFeed (an HTML page:
                                                     fetch the feed it links to, once) or ParseError
    | identify(entries)                           -> Identified (key, canonical url, hash)
    | store.get_entries_for_update(feed, keys)    -> {key: StoredEntry}
    | Decider(now, first_sync, backfill).decide   -> EntryChange NEW | UPDATED | SAME
    | rules.match(article)                        -> Match(rule, hits)   for changes that may alert
    | next_poll_delay(policy, failures, hints)    -> when to come back
    | recorder.record(FeedUpdateIntent)           -> feed state + entries + matches + outbox rows

A failing feed is a value (an ``error`` intent, backed off; ``gone`` for 410, which disables it);
it never affects other feeds. Any other exception is a bug: it is logged as critical and
re-raised. Each update ends with exactly one ``feed.updated`` log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog

from monitor.app.metrics import Metrics
from monitor.base.errors import HTTPStatusError, NotAFeed, UpdateError
from monitor.base.settings import FeedSpec, Settings, sink_names_for
from monitor.base.types import (
    MALFORMED,
    AlertDraft,
    ChangeKind,
    EntryChange,
    EntryWrite,
    FeedForUpdate,
    FeedRhythm,
    FeedUpdateIntent,
    FetchResult,
    IdentityMode,
    ParsedEntry,
    ParsedFeed,
    PollStatus,
    RedirectSeen,
    Relocation,
    StoredEntry,
    UpdateResult,
)
from monitor.config import LoadedConfig
from monitor.stages.alerts import article_data, matched_payload
from monitor.stages.articles import article_from_entry, resolve_language
from monitor.stages.decide import Decider, Identification, identify
from monitor.stages.fetch import Fetcher
from monitor.stages.parse import Parser, parse_in
from monitor.stages.rules import Article
from monitor.stages.scan import scan_fingerprint
from monitor.stages.schedule import (
    PollHints,
    PollPolicy,
    cache_lifetime,
    entry_interval,
    next_poll_delay,
    quiet_for,
)
from monitor.stages.stories import story_sketch
from monitor.store import Store
from monitor.store.batch import PollRecorder

log = structlog.get_logger("newsmon.feed")

# A permanent redirect seen this many polls in a row moves the feed (one 301 may be a mistake).
MOVE_AFTER = 3
LARGE_BODY = 1024 * 1024
_CHAIN_REASON = {
    IdentityMode.GUID: "GUIDs repeat across entries or change between fetches",
    IdentityMode.LINK: "links repeat across different entries",
}


def poll_policy(settings: Settings, spec: FeedSpec) -> PollPolicy:
    low, high = settings.interval_bounds(spec)
    defaults = settings.defaults
    return PollPolicy(
        interval=settings.interval(spec),
        min_interval=low,
        max_interval=high,
        adaptive=settings.adaptive(spec),
        max_backoff=defaults.max_backoff,
        jitter=defaults.jitter,
        failing_after=defaults.failing_after,
    )


def follow_redirect(
    feed: FeedForUpdate, moved_to: str | None
) -> tuple[RedirectSeen, Relocation | None]:
    """Count a permanent redirect; the same one seen :data:`MOVE_AFTER` polls in a row moves the
    feed. The configured URL stays the feed's identity: only where it is fetched from changes."""
    if moved_to is None or moved_to == feed.fetch_url:
        return RedirectSeen(None, 0), None
    count = feed.redirect_count + 1 if moved_to == feed.redirect_url else 1
    if count >= MOVE_AFTER:
        return RedirectSeen(None, 0), Relocation(moved_to, "moved")
    return RedirectSeen(moved_to, count), None


@dataclass(frozen=True)
class _Validators:
    """What identifies a body read: the server's validators and our two hashes of it."""

    etag: str | None
    last_modified: str | None
    body_hash: str
    scan_hash: str

    @classmethod
    def of(cls, result: FetchResult) -> _Validators:
        assert result.body is not None
        return cls(
            result.etag,
            result.last_modified,
            hashlib.sha256(result.body).hexdigest(),
            scan_fingerprint(result.body, result.headers.get("content-type")),
        )

    @classmethod
    async def read(cls, result: FetchResult) -> _Validators:
        """:meth:`of`, in a thread for big bodies (10 MiB take some 30 ms to hash and scan)."""
        assert result.body is not None
        if len(result.body) > LARGE_BODY:
            return await asyncio.to_thread(cls.of, result)
        return cls.of(result)

    def saved_by(self, intent: FeedUpdateIntent) -> FeedUpdateIntent:
        return replace(
            intent,
            etag=self.etag,
            last_modified=self.last_modified,
            body_hash=self.body_hash,
            scan_hash=self.scan_hash,
        )


@dataclass(frozen=True)
class _Fetched:
    """A fetched body and what the poll learnt on the way to it."""

    result: FetchResult
    redirect: RedirectSeen
    relocation: Relocation | None


@dataclass
class Pipeline:
    store: Store
    fetcher: Fetcher
    parse_pool: Parser | None
    node: str
    rng: random.Random = field(default_factory=random.Random)
    on_alerts: Callable[[int], None] | None = None
    recorder: PollRecorder | None = None
    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        if self.recorder is None:
            self.recorder = PollRecorder(self.store, self.node)

    async def update_feed(self, feed: FeedForUpdate, config: LoadedConfig) -> UpdateResult:
        """Poll, decide, match and record one claimed feed; returns what happened."""
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(feed=feed.url):
            try:
                result = await self._update(feed, config)
            except Exception as e:
                self.metrics.feed_crashed(time.monotonic() - started)
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
            self.metrics.feed_updated(result, seconds)
            ms = round(seconds * 1000)
            fields = {
                "status": result.status,
                "new": result.new,
                "updated": result.updated,
                "matched": result.matched,
                "alerts": result.alerts,
                "ms": ms,
            }
            if result.error:
                await log.awarning("feed.updated", **fields, error=result.error)
            else:
                await log.ainfo("feed.updated", **fields)
            if result.alerts and self.on_alerts:
                self.on_alerts(result.alerts)
            return result

    async def _update(self, feed: FeedForUpdate, config: LoadedConfig) -> UpdateResult:
        settings = config.settings
        spec = settings.feeds_by_url.get(feed.url)
        now = self.store.now()
        if spec is None:  # removed from the config while it was being claimed
            await self.store.release_feed(feed.id, self.node)
            return UpdateResult(feed.url, PollStatus.REMOVED)
        policy = poll_policy(settings, spec)
        try:
            intent = await self._poll(feed, spec, config, policy, now)
        except UpdateError as e:
            intent = self._failed(feed, policy, e, now)
        assert self.recorder is not None
        outcome = await self.recorder.record(intent)
        if not outcome.recorded:
            return UpdateResult(
                feed.url, PollStatus.LEASE_LOST, error="another node took over this feed"
            )
        await self._announce(feed, intent, policy)
        new = sum(1 for w in intent.entries if w.change.kind is ChangeKind.NEW)
        updated = sum(1 for w in intent.entries if w.change.kind is ChangeKind.UPDATED)
        matched = sum(1 for w in intent.entries if w.matches)
        return UpdateResult(
            feed.url,
            intent.status,
            new,
            updated,
            matched,
            outcome.alerts,
            None if intent.error_kind == MALFORMED else intent.error,  # logged as feed.malformed
            intent.failing,
        )

    def _failed(
        self, feed: FeedForUpdate, policy: PollPolicy, error: UpdateError, now: datetime
    ) -> FeedUpdateIntent:
        failures = feed.consecutive_failures + 1
        retry_after = error.retry_after if isinstance(error, HTTPStatusError) else None
        delay = next_poll_delay(policy, failures, PollHints(retry_after=retry_after), rng=self.rng)
        gone = isinstance(error, HTTPStatusError) and error.status == 410
        return FeedUpdateIntent(
            feed.id,
            now,
            now + timedelta(seconds=delay),
            PollStatus.GONE if gone else PollStatus.ERROR,
            error=f"{error.message}: feed disabled" if gone else error.message,
            error_kind=error.kind,
            failing=failures >= policy.failing_after,
        )

    async def _announce(
        self, feed: FeedForUpdate, intent: FeedUpdateIntent, policy: PollPolicy
    ) -> None:
        """Log the changes of state an operator should see once, not on every poll."""
        if intent.relocation is not None:
            await log.awarning(
                "feed.relocated",
                fetch_from=intent.relocation.url,
                was=feed.fetch_url,
                reason=intent.relocation.source,
                hint="the config keeps the old URL as the feed's identity; update it when ready",
            )
        if intent.status == "gone":
            await log.aerror("feed.disabled", reason=intent.error)
        elif intent.failing and feed.consecutive_failures < policy.failing_after:
            await log.aerror(
                "feed.failing",
                failures=feed.consecutive_failures + 1,
                retry_in=round((intent.next_poll_at - intent.attempted_at).total_seconds()),
            )

    async def _poll(
        self,
        feed: FeedForUpdate,
        spec: FeedSpec,
        config: LoadedConfig,
        policy: PollPolicy,
        now: datetime,
    ) -> FeedUpdateIntent:
        settings = config.settings
        fetched = await self._fetch(feed, feed.fetch_url, settings, spec, conditional=True)
        result = fetched.result
        hints = PollHints(
            entry_interval=feed.entry_interval,
            quiet_for=await self._quiet_for(feed, policy, now),
            publisher_interval=feed.publisher_interval,
            cache_lifetime=cache_lifetime(result.headers, now),
        )
        unchanged = FeedUpdateIntent(
            feed.id,
            now,
            now + timedelta(seconds=next_poll_delay(policy, 0, hints, rng=self.rng)),
            PollStatus.NOT_MODIFIED,
            redirect=fetched.redirect,
            relocation=fetched.relocation,
        )
        if result.not_modified:
            return unchanged
        validators = await _Validators.read(result)
        if validators.body_hash == feed.body_hash:  # a 200 with the same bytes: no parse
            return validators.saved_by(unchanged)
        if feed.synced and validators.scan_hash == feed.scan_hash:  # only dates, comments differ
            return validators.saved_by(replace(unchanged, status=PollStatus.UNCHANGED))
        parsed, fetched = await self._parse(feed, fetched, settings, spec)
        if fetched.result is not result:  # a page led to its feed: save the feed's validators
            validators = await _Validators.read(fetched.result)
        if parsed.warning:
            await log.awarning("feed.malformed", warning=parsed.warning)
        published = tuple(e.published for e in parsed.entries)
        rhythm = FeedRhythm(entry_interval(published, now), parsed.publisher_interval)
        hints = replace(
            hints,
            entry_interval=rhythm.entry_interval,
            quiet_for=quiet_for(published, now),
            publisher_interval=rhythm.publisher_interval,
        )
        writes, ident = await self._decide(feed, spec, config, parsed, now)
        if ident.mode != feed.identity:
            await log.awarning(
                "feed.identity",
                was=feed.identity,
                now=ident.mode,
                reason=f"the feed's {_CHAIN_REASON[feed.identity]}: entries are told apart by "
                + {IdentityMode.LINK: "their links", IdentityMode.HASH: "their text"}[ident.mode],
            )
        return validators.saved_by(
            FeedUpdateIntent(
                feed.id,
                now,
                now + timedelta(seconds=next_poll_delay(policy, 0, hints, rng=self.rng)),
                PollStatus.OK,
                # A success, with the warning kept where `newsmon feeds` shows it.
                error=parsed.warning,
                error_kind=MALFORMED if parsed.warning else None,
                title=parsed.title,
                entries=tuple(writes),
                rhythm=rhythm,
                redirect=fetched.redirect,
                relocation=fetched.relocation,
                identity=ident.mode if ident.mode != feed.identity else None,
                # a first sync has no entries to mark as seen or gone
                seen=tuple(item.key for item in ident.items) if feed.synced else None,
            )
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
        self,
        feed: FeedForUpdate,
        url: str,
        settings: Settings,
        spec: FeedSpec,
        *,
        conditional: bool,
    ) -> _Fetched:
        result = await self.fetcher.fetch(
            url,
            etag=feed.etag if conditional else None,
            last_modified=feed.last_modified if conditional else None,
            deadline=settings.timeout(spec),
            allow_private=settings.allow_private(spec),
        )
        redirect, relocation = follow_redirect(feed, result.moved_to)
        return _Fetched(result, redirect, relocation)

    async def _parse(
        self, feed: FeedForUpdate, fetched: _Fetched, settings: Settings, spec: FeedSpec
    ) -> tuple[ParsedFeed, _Fetched]:
        """Parse the body; a page given instead of a feed is followed to the feed it links to,
        while the feed has never been read (a feed that later serves HTML is broken, not moved).
        """
        result = fetched.result
        assert result.body is not None
        deadline = settings.defaults.parse_timeout
        try:
            parsed = await parse_in(
                self.parse_pool, result.body, result.url, result.headers, deadline
            )
            return parsed, fetched
        except NotAFeed as e:
            if not e.links or feed.synced or feed.effective_url is not None:
                raise
            link = e.links[0]
        found = await self._fetch(feed, link, settings, spec, conditional=False)
        assert found.result.body is not None
        parsed = await parse_in(
            self.parse_pool, found.result.body, found.result.url, found.result.headers, deadline
        )
        await log.ainfo("feed.discovered", page=result.url, feed_url=link)
        return parsed, replace(
            found, redirect=RedirectSeen(None, 0), relocation=Relocation(link, "discovered")
        )

    async def _decide(
        self,
        feed: FeedForUpdate,
        spec: FeedSpec,
        config: LoadedConfig,
        parsed: ParsedFeed,
        now: datetime,
    ) -> tuple[list[EntryWrite], Identification]:
        ident, stored = await self._identify(feed, parsed)
        decider = Decider(now, first_sync=not feed.synced, backfill=config.settings.backfill(spec))
        settings = config.settings
        changes = []
        for change in decider.decide(ident.items, stored):
            rekeyed = change.stored is not None and change.stored.key != change.key
            if change.kind is ChangeKind.SAME and not rekeyed:
                continue
            language = resolve_language(change.entry, spec.language, settings.defaults.language)
            if language != change.entry.language:
                change = _with_language(change, language)
            changes.append(change)
        edited = {c.stored.story_id for c in changes if c.material and c.stored is not None}
        alerted = await self.store.story_rules(s for s in edited if s is not None)
        shared = shared_links(ident)
        writes = [
            self._write_for(change, spec, config, alerted, now, change.canonical_url in shared)
            for change in changes
        ]
        return writes, ident

    async def _identify(
        self, feed: FeedForUpdate, parsed: ParsedFeed
    ) -> tuple[Identification, dict[str, StoredEntry]]:
        """Identify the document's entries and find what the store knows of them.

        An entry whose key is unknown but whose link (or, without a link, whose text) is known,
        and which the document does not list under its own key, is that entry under a new key:
        it keeps its history and takes the new key. When that happens to an entry known by its
        GUID, the feed's GUIDs cannot be trusted: it moves down the identity chain for good.
        """
        mode = feed.identity
        while True:
            ident = identify(parsed.entries, mode)
            stored = await self.store.get_entries_for_update(feed.id, [i.key for i in ident.items])
            shared = shared_links(ident)
            unknown = [
                i for i in ident.items if i.key not in stored and i.canonical_url not in shared
            ]
            if not unknown:
                return ident, stored
            by_link, by_hash = await self.store.find_entries(
                feed.id,
                (i.canonical_url for i in unknown if i.canonical_url),
                (i.content_hash for i in unknown if not i.canonical_url),
            )
            taken = {known.id for known in stored.values()}
            moved: set[str] = set()
            for item in unknown:
                if item.canonical_url:
                    known, how = by_link.get(item.canonical_url), "link"
                else:
                    known, how = by_hash.get(item.content_hash), "hash"
                if known is None or known.id in taken:
                    continue
                taken.add(known.id)
                stored[item.key] = known
                if known.key.startswith("guid:") and known.key != item.key:
                    moved.add(how)
            if ident.mode is not IdentityMode.GUID or not moved:
                return ident, stored
            mode = IdentityMode.LINK if "link" in moved else IdentityMode.HASH

    def _write_for(
        self,
        change: EntryChange,
        spec: FeedSpec,
        config: LoadedConfig,
        alerted: Mapping[int, set[str]],
        now: datetime,
        shared_link: bool = False,
    ) -> EntryWrite:
        """The entry's matches and alerts. A new entry alerts every rule it matches (the store
        drops an alert for a story the rule already alerted on). An edit alerts a rule that
        did not match before as new, and one that already alerted on the story only if it
        asks for ``notify_updates``."""
        entry = change.entry
        sketch = None
        if change.kind is ChangeKind.NEW:
            body = entry.content if len(entry.content) > len(entry.summary) else entry.summary
            sketch = story_sketch(entry.title, body)
        if not change.alert:
            return EntryWrite(change, sketch=sketch, link_is_identity=not shared_link)
        text = _article(entry, spec)
        found = config.rules.match(text)
        if not found:
            return EntryWrite(change, sketch=sketch, link_is_identity=not shared_link)
        rules = {rule.id: rule for rule in config.settings.rules}
        before: set[str] = set()
        story_alerted: set[str] = set()
        if change.material and change.stored is not None and change.stored.text is not None:
            title, summary, content = change.stored.text
            old = replace(entry, title=title, summary=summary, content=content)
            before = {m.rule_id for m in config.rules.match(_article(old, spec))}
            story_alerted = alerted.get(change.stored.story_id or 0, set())
        article = article_data(spec, change)
        matches, alerts = [], []
        for match in found:
            rule = rules[match.rule_id]
            diff = None
            if rule.id in story_alerted:
                if not rule.notify_updates:
                    continue
                diff = change.diff
            elif rule.id in before:
                continue  # it matched before the edit too, when it was recorded without alert
            payload = matched_payload(
                article, text, rule, match, now, revision=change.revision, diff=diff
            )
            matches.append((rule.id, payload["data"]["hits"]))
            for sink in sink_names_for(rule, config.settings):
                alerts.append(AlertDraft(None, sink, rule.id, payload["type"], payload))
        return EntryWrite(change, tuple(matches), tuple(alerts), sketch, not shared_link)


def shared_links(ident: Identification) -> set[str]:
    """Canonical links that several different entries of one document share (a feed whose
    items all link to its home page): such a link tells neither an entry nor a story."""
    counts = Counter(item.canonical_url for item in ident.items if item.canonical_url)
    return {url for url, n in counts.items() if n > 1}


def _article(entry: ParsedEntry, spec: FeedSpec) -> Article:
    return article_from_entry(entry, feed=spec.label, feed_url=spec.url, tags=spec.tags)


def _with_language(change: EntryChange, language: str | None) -> EntryChange:
    return replace(change, entry=replace(change.entry, language=language))
