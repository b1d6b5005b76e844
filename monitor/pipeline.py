"""One feed update, from a claimed feed to one recorded transaction::

    store.claim_due_feeds(node, lease, limit)     -> FeedForUpdate
    | fetcher.fetch(url, etag, last_modified)     -> FetchResult (200 body | 304) or FetchError
    | parse_in(pool, body)                        -> ParsedFeed or ParseError
    | identify(entries)                           -> Identified (key, canonical url, hash)
    | store.get_entries_for_update(feed, keys)    -> {key: StoredEntry}
    | Decider(now, first_sync, backfill).decide   -> EntryChange NEW | UPDATED | SAME
    | rules.match(article)                        -> Match(rule, hits)   for changes that may alert
    | store.record_update(FeedUpdateIntent)       -> feed state + entries + matches + outbox rows

A failing feed is a value (an ``error`` intent, backed off); it never affects other feeds. Any
other exception is a bug: it is logged as critical and re-raised. Each update ends with exactly
one ``feed.updated`` log line.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import structlog

from monitor.alerts import alert_id, article_data, matched_payload
from monitor.config import LoadedConfig
from monitor.config.schema import FeedSpec, Settings, sink_names_for
from monitor.decide import Decider, identify
from monitor.errors import UpdateError
from monitor.fetch import Fetcher
from monitor.parse import Parser, parse_in
from monitor.rules import Article
from monitor.schedule import PollPolicy, next_poll_delay
from monitor.store import Store
from monitor.types import (
    AlertDraft,
    ChangeKind,
    EntryChange,
    EntryWrite,
    FeedForUpdate,
    FeedUpdateIntent,
    ParsedFeed,
    UpdateResult,
)

log = structlog.get_logger("newsmon.feed")


@dataclass
class Pipeline:
    store: Store
    fetcher: Fetcher
    parse_pool: Parser | None
    node: str
    rng: random.Random = field(default_factory=random.Random)
    on_alerts: Callable[[int], None] | None = None

    async def update_feed(self, feed: FeedForUpdate, config: LoadedConfig) -> UpdateResult:
        """Poll, decide, match and record one claimed feed; returns what happened."""
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(feed=feed.url):
            try:
                result = await self._update(feed, config)
            except Exception:
                await log.acritical(
                    "feed.updated", status="critical", reason="unexpected error", exc_info=True
                )
                raise
            ms = round((time.monotonic() - started) * 1000)
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
            return UpdateResult(feed.url, "removed")
        try:
            intent = await self._poll(feed, spec, config, now)
        except UpdateError as e:
            failures = feed.consecutive_failures + 1
            intent = FeedUpdateIntent(
                feed.id,
                now,
                self._next_poll(settings.interval(spec), failures, now, settings),
                "error",
                error=e.message,
            )
        outcome = await self.store.record_update(intent, self.node)
        if not outcome.recorded:
            return UpdateResult(feed.url, "lease_lost", error="another node took over this feed")
        new = sum(1 for w in intent.entries if w.change.kind is ChangeKind.NEW)
        updated = sum(1 for w in intent.entries if w.change.kind is ChangeKind.UPDATED)
        matched = sum(1 for w in intent.entries if w.matches)
        return UpdateResult(
            feed.url, intent.status, new, updated, matched, outcome.alerts, intent.error
        )

    async def _poll(
        self, feed: FeedForUpdate, spec: FeedSpec, config: LoadedConfig, now: datetime
    ) -> FeedUpdateIntent:
        settings = config.settings
        next_poll = self._next_poll(settings.interval(spec), 0, now, settings)
        fetched = await self.fetcher.fetch(
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            deadline=settings.timeout(spec),
            allow_private=settings.allow_private(spec),
        )
        if fetched.not_modified:
            return FeedUpdateIntent(feed.id, now, next_poll, "not_modified")
        assert fetched.body is not None
        body_hash = hashlib.sha256(fetched.body).hexdigest()
        if body_hash == feed.body_hash:  # a 200 with the same bytes: unchanged, skip the parse
            return FeedUpdateIntent(feed.id, now, next_poll, "not_modified")
        parsed = await parse_in(
            self.parse_pool,
            fetched.body,
            fetched.url,
            fetched.headers,
            settings.defaults.parse_timeout,
        )
        if parsed.warning:
            await log.awarning("feed.malformed", warning=parsed.warning)
        writes = await self._decide(feed, spec, config, parsed, now)
        return FeedUpdateIntent(
            feed.id,
            now,
            next_poll,
            "ok",
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            body_hash=body_hash,
            title=parsed.title,
            entries=tuple(writes),
        )

    async def _decide(
        self,
        feed: FeedForUpdate,
        spec: FeedSpec,
        config: LoadedConfig,
        parsed: ParsedFeed,
        now: datetime,
    ) -> list[EntryWrite]:
        items = identify(parsed.entries)
        stored = await self.store.get_entries_for_update(feed.id, (i.key for i in items))
        decider = Decider(now, first_sync=not feed.synced, backfill=config.settings.backfill(spec))
        language = config.settings.language(spec)
        writes = []
        for change in decider.decide(items, stored):
            if change.kind is ChangeKind.SAME:
                continue
            if language and not change.entry.language:
                change = _with_language(change, language)
            writes.append(self._write_for(change, spec, config, now))
        return writes

    def _write_for(
        self, change: EntryChange, spec: FeedSpec, config: LoadedConfig, now: datetime
    ) -> EntryWrite:
        if not change.alert:
            return EntryWrite(change)
        entry = change.entry
        text = Article(entry.title, entry.summary, entry.content)
        found = config.rules.match(text)
        if not found:
            return EntryWrite(change)
        rules = {rule.id: rule for rule in config.settings.rules}
        article = article_data(spec, change)
        matches, alerts = [], []
        for match in found:
            rule = rules[match.rule_id]
            payload = matched_payload(article, text, rule, match, now)
            matches.append((rule.id, payload["data"]["hits"]))
            for sink in sink_names_for(rule, config.settings):
                alerts.append(
                    AlertDraft(
                        alert_id(sink, rule.id, spec.url, change.key),
                        sink,
                        rule.id,
                        "article.matched",
                        payload,
                    )
                )
        return EntryWrite(change, tuple(matches), tuple(alerts))

    def _next_poll(
        self, interval: float, failures: int, now: datetime, settings: Settings
    ) -> datetime:
        policy = PollPolicy(interval, interval, interval, jitter=settings.defaults.jitter)
        delay = next_poll_delay(policy, failures, rng=self.rng)
        return now + timedelta(seconds=delay)


def _with_language(change: EntryChange, language: str) -> EntryChange:
    return replace(change, entry=replace(change.entry, language=language))
