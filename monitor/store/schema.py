"""Tables of the state store (SQLAlchemy Core). Alembic migrations create and evolve them.

The schedule is data: ``feeds.next_poll_at`` and the lease columns say which feed is due and who
is polling it; ``alerts`` is the transactional outbox (a digest is an alert too: it has no entry,
and the alerts it gathered point at it by ``digest_id``); ``sinks`` keeps what must outlive a
process about each sink: disabled by a 410 and why, and when its last digest was cut;
``hourly_counts`` is what happened hour by hour, for ``newsmon status``; ``poll_history`` and
``delivery_attempts`` are what the dashboard shows of each poll and each delivery. A change
here needs a migration in ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("next_poll_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.String(64)),
    sa.Column("synced_at", UTCDateTime),
    sa.Column("last_attempt_at", UTCDateTime),
    sa.Column("last_success_at", UTCDateTime),
    sa.Column("last_status", sa.String(32)),
    sa.Column("last_error", sa.Text),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    # 0002: fetching politely (issue 4). The config URL stays the feed's identity; the URL
    # actually fetched moves after repeated permanent redirects or an autodiscovery.
    sa.Column("effective_url", sa.Text),
    sa.Column("effective_url_source", sa.String(16)),
    sa.Column("redirect_url", sa.Text),
    sa.Column("redirect_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("scan_hash", sa.String(64)),
    sa.Column("entry_interval", sa.Float),
    sa.Column("publisher_interval", sa.Float),
    sa.Column("last_error_kind", sa.String(32)),
    sa.Column("failing_since", UTCDateTime),
    sa.Column("disabled_at", UTCDateTime),
    sa.Column("disabled_reason", sa.Text),
    # 0004: stories. How this feed's entries are told apart (guid, then link, then hash: a feed
    # whose GUIDs repeat or change moves down the chain), and when its body was last parsed.
    sa.Column("identity", sa.String(8), nullable=False, server_default="guid"),
    sa.Column("last_parsed_at", UTCDateTime),
    # 0009: how many polls were recorded: the next slot of the feed's ring in ``poll_history``.
    sa.Column("polls", sa.Integer, nullable=False, server_default="0"),
    # 0009: the config's tags of the feed as ",a,b," (synced with the feeds), for filtering.
    sa.Column("tags", sa.Text),
    # 0008: the last parsed body's items, to parse only those that changed (stages/items.py).
    sa.Column("item_head", sa.String(64)),
    sa.Column("item_digests", sa.LargeBinary),
    sa.Column("items_parsed_at", UTCDateTime),
    sa.Index(None, "active", "next_poll_at"),
    sa.Index(None, "name"),  # 0009: the dashboard's feeds by name
    # 0009: covers the feeds-by-state tally (overview, status, metrics): no table scan.
    sa.Index(
        "ix_feeds_state", "active", "disabled_at", "failing_since", "last_status", "last_error_kind"
    ),
)

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("canonical_url", sa.Text, unique=True),
    sa.Column("sketch", sa.LargeBinary),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Index(None, "first_seen_at"),
)

# The band keys of a story's sketch, for finding near-duplicates within the story window.
story_bands = sa.Table(
    "story_bands",
    metadata,
    sa.Column(
        "story_id", sa.Integer, sa.ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("band", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("key", sa.BigInteger, nullable=False),
    sa.Index(None, "key"),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("key", sa.String(80), nullable=False),
    sa.Column("guid", sa.Text),
    sa.Column("url", sa.Text),
    sa.Column("canonical_url", sa.Text),
    sa.Column("title", sa.Text, nullable=False, server_default=""),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("content", sa.Text, nullable=False, server_default=""),
    sa.Column("language", sa.String(35)),
    sa.Column("published_at", UTCDateTime),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # 0004: stories and revisions. last_seen_at: the last parse that listed the entry (kept to
    # within SEEN_STEP); pruned entries keep their key and hashes (a tombstone) so that they
    # are never new again.
    # No foreign key to stories: SQLite could only add one by rebuilding this table, and
    # prune deletes a story only once no entry tells it.
    sa.Column("story_id", sa.Integer),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Column("material_hash", sa.String(64)),
    sa.Column("hash_changes", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_seen_at", UTCDateTime),
    # Whether the feed's last parsed document listed it (a 304 lists what the last parse did).
    sa.Column("listed", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("pruned_at", UTCDateTime),
    # 0007: an entry completed with its article page: ``content`` is the page's text, this is
    # the feed's own (what change detection compares), ``page_at`` when the page was read.
    sa.Column("feed_content", sa.Text),
    sa.Column("page_at", UTCDateTime),
    sa.UniqueConstraint("feed_id", "key"),
    sa.Index(None, "story_id"),
    sa.Index(None, "canonical_url"),
    sa.Index(None, "feed_id", "content_hash"),
    sa.Index(None, "last_seen_at"),
)

revisions = sa.Table(
    "revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("diff", sa.JSON),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("entry_id", "revision"),
)

# 0007: the article page of an entry whose feed text is a teaser: owed (recorded with the entry,
# in its transaction, until a page reader completes it), done, or fallen back (kind, reason).
pages = sa.Table(
    "pages",
    metadata,
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(32)),
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("settled_at", UTCDateTime),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "feed_id", "state"),
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Column("hits", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("entry_id", "rule_id", "revision"),
    sa.Index(None, "rule_id", "created_at"),  # 0009: a rule's hits per day, its latest
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("sink", sa.Text, nullable=False),
    sa.Column("rule_id", sa.Text, nullable=False),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE")),
    sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.Text),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("digest_id", sa.String(64)),
    # 0004: one alert per (sink, rule, story, revision): a story told by several feeds alerts once.
    sa.Column("story_id", sa.Integer),
    # 0005: a dead alert the operator gave up on (``newsmon alerts discard``): kept, not retried.
    sa.Column("discarded_at", UTCDateTime),
    sa.UniqueConstraint("sink", "rule_id", "story_id", "revision"),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "sink", "state"),
    sa.Index(None, "created_at"),  # 0009: the dashboard's newest alerts first
)

sinks = sa.Table(
    "sinks",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("last_digest_at", UTCDateTime),
)

# 0005: what ``newsmon status`` says of the last hour, one row per (hour, kind, sink, outcome)
# bumped by one upsert in the transaction that records the polls or settles the alert: polls
# by status, new entries, delivery attempts by sink and outcome. Pruned by ``retention.counts``.
hourly_counts = sa.Table(
    "hourly_counts",
    metadata,
    sa.Column("hour", UTCDateTime, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("sink", sa.Text, primary_key=True, server_default=""),
    sa.Column("outcome", sa.String(32), primary_key=True, server_default=""),
    sa.Column("n", sa.Integer, nullable=False),
)

# 0006: one row per node (a daemon process), written by its heartbeat: what ``newsmon nodes``
# shows, and how nodes notice that they run different configs.
nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("config_fingerprint", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
    sa.Column("feeds_held", sa.Integer, nullable=False, server_default="0"),
    sa.Column("alerts_held", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reload_at", UTCDateTime),
    sa.Column("reload_ok", sa.Boolean),
    sa.Column("reload_error", sa.Text),
)


# 0009: the last POLL_RING polls of each feed, a ring: poll n of a feed overwrites slot
# n % POLL_RING, one upsert in the transaction that records the poll. Bounded by construction.
POLL_RING = 20

poll_history = sa.Table(
    "poll_history",
    metadata,
    sa.Column(
        "feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("slot", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("poll", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("new_entries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
)

# 0009: every delivery attempt of an alert, with its answer, inserted where the attempt is
# settled; it goes with its alert (retention deletes alerts, the foreign key the attempts).
delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "alert_id",
        sa.String(64),
        sa.ForeignKey("alerts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("answer", sa.Text),
    sa.Index(None, "alert_id"),
)
