"""The data that flows through a feed update, one type per stage (see :mod:`monitor.flow.pipeline`).

FeedForUpdate (from the store) -> FetchResult -> ParsedFeed -> EntryChange (decide) ->
FeedUpdateIntent (to the store) -> UpdateResult (to the caller and the log). Alerts leave the store
as :class:`Alert` for the dispatcher. All are frozen: stages hand data on, they never share it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The error kind of a feed read despite a problem (wrong charset, not well-formed): a success
# whose warning stays visible until a clean parse.
MALFORMED = "malformed"


class PollStatus(enum.StrEnum):
    """How one poll ended: the ``status`` of the ``feed.updated`` log line and of the
    ``newsmon_feed_polls_total`` metric, and the ``last_status`` the store keeps."""

    OK = "ok"  # parsed
    NOT_MODIFIED = "not_modified"  # 304, or the same bytes as last time
    UNCHANGED = "unchanged"  # new bytes, but the scan found no entry changed
    ERROR = "error"
    GONE = "gone"  # 410: the feed is disabled
    REMOVED = "removed"  # it left the config while it was claimed
    LEASE_LOST = "lease_lost"  # another node took the feed over: nothing recorded
    DEFERRED = "deferred"  # no turn at its host in time: released, claimed again soon
    CRITICAL = "critical"  # a bug: logged and re-raised

    @property
    def failed(self) -> bool:
        return self in (PollStatus.ERROR, PollStatus.GONE)

    @property
    def body_unchanged(self) -> bool:
        """The body last parsed is still the one served."""
        return self in (PollStatus.NOT_MODIFIED, PollStatus.UNCHANGED)


class FeedState(enum.StrEnum):
    """A feed as an operator sees it, one vocabulary for ``newsmon feeds`` and the
    ``newsmon_feeds{state}`` metric (whose documented values and spelling users alert on)."""

    OK = "ok"
    WARNING = "warning"  # read, but not as served (wrong charset, not well-formed)
    ERROR = "error"  # its last poll failed
    FAILING = "failing"  # it has failed ``failing_after`` polls in a row; still retried
    DISABLED = "disabled"  # 410 Gone: polled again only when enabled
    NEVER_POLLED = "never_polled"
    REMOVED = "removed"  # no longer in the config; its state is kept


def feed_state(
    *,
    active: bool,
    disabled: bool,
    failing: bool,
    last_status: str | None,
    last_error_kind: str | None,
) -> FeedState:
    """The state of a feed from the store's columns, the most urgent first."""
    if not active:
        return FeedState.REMOVED
    if disabled:
        return FeedState.DISABLED
    if failing:
        return FeedState.FAILING
    if last_status is None:
        return FeedState.NEVER_POLLED
    if PollStatus(last_status).failed:
        return FeedState.ERROR
    if last_error_kind == MALFORMED:
        return FeedState.WARNING
    return FeedState.OK


class IdentityMode(enum.StrEnum):
    """How a feed's entries are told apart: the identity chain, trusted from the top down."""

    GUID = "guid"
    LINK = "link"  # its GUIDs repeat or change between fetches
    HASH = "hash"  # its links repeat too: entries are known by their text


class DeliveryOutcome(enum.StrEnum):
    """What one delivery attempt came to."""

    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"  # out of attempts, or refused for good: visible, replayable
    DISABLED = "disabled"  # 410 Gone from the receiver: the sink waits until enabled


class AlertState(enum.StrEnum):
    """Where an outbox row is in its life."""

    PENDING = "pending"  # due now or at next_attempt_at
    DELIVERED = "delivered"
    DEAD = "dead"  # given up: visible, replayable
    DIGESTED = "digested"  # held for a digest sink and sent in a digest
    DISCARDED = "discarded"  # a dead alert the operator gave up on: kept, never sent


class AlertKind(enum.StrEnum):
    """The event an outbox row carries (the payload's ``type``)."""

    MATCHED = "article.matched"
    UPDATED = "article.updated"
    DIGEST = "digest"


DIGEST = 8  # bytes of sha256 per item: a collision among one feed's items is out of reach


@dataclass(frozen=True)
class ItemState:
    """What the store keeps of a feed's last parsed body, to parse only what changed next
    (:mod:`monitor.stages.items`)."""

    head_hash: str
    digests: bytes  # DIGEST bytes per item, in document order
    full_parsed_at: datetime

    @property
    def known(self) -> frozenset[bytes]:
        d = self.digests
        return frozenset(d[i : i + DIGEST] for i in range(0, len(d), DIGEST))


@dataclass(frozen=True)
class FeedForUpdate:
    """A feed claimed for polling, with what the last polls left behind.

    ``url`` is the configured URL, the feed's identity; ``effective_url``, when set, is where
    the feed is fetched from now (it moved for good, or ``url`` was a page that links to it).
    """

    id: int
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    synced: bool
    consecutive_failures: int
    effective_url: str | None = None
    scan_hash: str | None = None
    entry_interval: float | None = None
    publisher_interval: float | None = None
    redirect_url: str | None = None
    redirect_count: int = 0
    identity: IdentityMode = IdentityMode.GUID
    due_at: datetime | None = None  # when its poll was due (the poll lag counts from it)
    items: ItemState | None = None

    @property
    def fetch_url(self) -> str:
        return self.effective_url or self.url


@dataclass(frozen=True)
class RequestOptions:
    """What a fetch adds to the session's request: extra headers (any ``Authorization`` a
    feed's ``auth:`` computed already among them) and a user agent (None: the session's).

    The header values may be credentials: they are left out of ``repr`` and never logged. A
    caller that needs its own header (the page fetcher's ``Accept``) merges with
    :meth:`with_headers`.
    """

    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    user_agent: str | None = None

    def with_headers(self, headers: Mapping[str, str]) -> RequestOptions:
        """These options with ``headers`` added, replacing any of the same name (any case)."""
        names = {name.lower() for name in headers}
        kept = {k: v for k, v in self.headers.items() if k.lower() not in names}
        return RequestOptions({**kept, **headers}, self.user_agent)


NO_OPTIONS = RequestOptions()


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one successful HTTP exchange: a new body, or 304 Not Modified.

    ``url`` is where the body came from after redirects; ``moved_to`` is where the leading
    permanent redirects (301, 308) led, if there were any.
    """

    url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    headers: dict[str, str] = field(default_factory=dict)
    moved_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# Two texts whose sketches share this much (Jaccard) or more are one story (measured:
# bench/stories.py); ``defaults.story_similarity`` overrides it.
SAME_STORY = 0.5


@dataclass(frozen=True)
class ParsedEntry:
    """One feed item as plain text fields (HTML already turned into text)."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    language: str | None = None  # as declared; once decided, the language it is matched in
    author: str | None = None
    declared_language: str | None = None  # set with the decision: what the feed or entry said
    detected_language: str | None = None  # and what the text clearly is, if it is clear
    # What its link and text give, worked out by the parse worker that read it (see
    # monitor.stages.facts); ignored once the text is no longer the one it was derived from.
    facts: EntryFacts | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EntryFacts:
    """What an entry's link and text alone give: its identity parts, the language its text
    is clearly in and its story sketch. ``source`` is the (link, title, summary, content) they
    were derived from."""

    source: tuple[str | None, str, str, str]
    canonical_url: str | None
    content_hash: str
    material_hash: str
    detected_language: str | None
    sketch: tuple[int, ...] | None


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document as plain data; ``publisher_interval`` is its ``<ttl>`` or
    ``sy:updatePeriod`` hint in seconds."""

    title: str | None
    link: str | None
    language: str | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None
    publisher_interval: float | None = None


@dataclass(frozen=True)
class StoredEntry:
    """What the store remembers of an entry, enough to decide whether and how it changed.

    ``text`` (title, summary, content) is None once the entry was pruned: a tombstone keeps
    only what identity and change detection need.
    """

    id: int
    key: str
    content_hash: str
    material_hash: str | None = None
    revision: int = 0
    hash_changes: int = 0
    story_id: int | None = None
    text: tuple[str, str, str] | None = None  # the feed's own text, also once a page was read
    page: tuple[str, datetime] | None = None  # the article page's text, and when it was read


class ChangeKind(enum.Enum):
    NEW = "new"
    UPDATED = "updated"
    SAME = "same"


@dataclass(frozen=True)
class EntryChange:
    """The decision about one parsed entry: new, updated or unchanged, and whether it may alert."""

    kind: ChangeKind
    key: str
    entry: ParsedEntry
    canonical_url: str | None
    content_hash: str
    stored: StoredEntry | None = None
    alert: bool = False
    material_hash: str | None = None
    material: bool = False  # an UPDATED entry whose change makes a new revision
    revision: int = 0  # the revision this change records (0: the first sighting)
    diff: dict[str, Any] | None = None


@dataclass(frozen=True)
class AlertDraft:
    """An alert to enqueue: one per (sink, rule, story, revision). ``id``, the idempotency key,
    is derived from those by the store once it knows the story (None until then)."""

    id: str | None
    sink: str
    rule_id: str
    kind: AlertKind
    payload: dict[str, Any]


@dataclass(frozen=True)
class PageWrite:
    """An entry's article page after a poll: ``done``, ``owed`` or ``fallback`` (kind, reason)."""

    url: str
    state: str
    kind: str | None = None
    reason: str | None = None
    retry_in: float = 0.0  # owed: seconds until the page reader tries (0: at once)


@dataclass(frozen=True)
class EntryWrite:
    """An entry to insert or update, with the matches and alerts it led to. With a page read,
    ``change.entry.content`` is the page's text, ``feed_content`` the feed's own; ``page`` is
    the page row to write (None: no page, or its row is unchanged)."""

    change: EntryChange
    matches: tuple[tuple[str, list[dict[str, Any]]], ...] = ()
    alerts: tuple[AlertDraft, ...] = ()
    sketch: tuple[int, ...] | None = None  # for a new entry: its story fingerprint
    link_is_identity: bool = True  # False: other entries of its feed share its link
    page: PageWrite | None = None
    feed_content: str | None = None
    page_at: datetime | None = None  # when the page in ``content`` was read


@dataclass(frozen=True)
class Relocation:
    """Where a feed is fetched from from now on, and why (``moved`` or ``discovered``)."""

    url: str
    source: str


@dataclass(frozen=True)
class RedirectSeen:
    """A permanent redirect seen ``count`` polls in a row (``url`` None: none this time)."""

    url: str | None
    count: int


@dataclass(frozen=True)
class FeedRhythm:
    """How often a feed publishes: observed from its entries, and as its publisher says."""

    entry_interval: float | None
    publisher_interval: float | None


@dataclass(frozen=True)
class FeedUpdateIntent:
    """Everything one poll decided, recorded in one transaction whatever the outcome.

    ``status`` is ``ok`` (parsed), ``not_modified`` (304 or the same bytes), ``unchanged`` (new
    bytes, but the scan found no entry changed), ``error`` or ``gone`` (410: disabled). The
    validators (``etag``, ``last_modified``, ``body_hash``, ``scan_hash``) are saved when
    ``body_hash`` is set, i.e. whenever a body was read; the ``None`` fields after them leave
    the stored state as it is.
    """

    feed_id: int
    attempted_at: datetime
    next_poll_at: datetime
    status: PollStatus
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    scan_hash: str | None = None
    error: str | None = None
    error_kind: str | None = None
    title: str | None = None
    entries: tuple[EntryWrite, ...] = ()
    rhythm: FeedRhythm | None = None
    redirect: RedirectSeen | None = None
    relocation: Relocation | None = None
    failing: bool = False
    identity: IdentityMode | None = None  # the feed's identity mode, when this poll changed it
    seen: tuple[str, ...] | None = None  # keys of every entry the parsed document listed
    items: ItemState | None = None  # the body's items, for a partial parse next time


@dataclass(frozen=True)
class UpdateResult:
    """What a feed update did, as the summary log line shows it."""

    url: str
    status: PollStatus
    new: int = 0
    updated: int = 0
    matched: int = 0
    alerts: int = 0
    error: str | None = None
    failing: bool = False


@dataclass(frozen=True)
class Alert:
    """An outbox row claimed for delivery."""

    id: str
    sink: str
    rule_id: str
    kind: AlertKind
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class DigestItem:
    """One held alert in a digest, with the feeds that told its story (each a report row:
    ``entry_id``, ``feed``, ``feed_url``, ``title``, ``url``), its own entry among them."""

    id: str
    payload: dict[str, Any]
    entry_id: int | None = None
    reports: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Digest:
    """A digest cut from a sink's held alerts, oldest first."""

    id: str
    sink: str
    since: datetime | None
    until: datetime
    items: tuple[DigestItem, ...]
