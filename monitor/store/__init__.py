"""The state store (SQLite by default, PostgreSQL for several nodes), split by domain.

=========================  ==========================================================
:mod:`.core`               the engine, opening (migrations, the single-node lock)
:mod:`.feeds`              syncing configured feeds, claiming due ones, recording polls
:mod:`.entries`            a feed's stored entries and stories, for deciding a poll
:mod:`.recording`          one poll's entries, stories, revisions, matches, outbox rows
:mod:`.outbox`             claiming and settling alerts; sinks on and off
:mod:`.digests`            cutting a sink's digest
:mod:`.reports`            what the commands and metrics show
:mod:`.status`             what ``newsmon status`` shows, from few grouped counts
:mod:`.counts`             the hourly counts behind it, bumped where polls and alerts settle
:mod:`.retention`          forgetting what is old
:mod:`.nodes`              each node's heartbeat, lease renewal, who is alive
:mod:`.pages`              article pages still owed: claimed, completed, settled
:mod:`.dashboard`          what the web dashboard reads, a page or a window at a time
:mod:`.history`            each feed's last polls and every delivery attempt, for it
=========================  ==========================================================

:class:`Store` is all of them over one engine. Its consumers each type against the slice they
use (a ``Protocol`` beside the consumer: :class:`monitor.flow.pipeline.PipelineStore`, ...).
The store stores what it is handed: it imports base types and pure stage functions (story
sketches), never an engine that reads or matches feeds.
"""

from monitor.stages.stories import StoryPolicy
from monitor.store.dashboard import DashboardStore, FeedQuery
from monitor.store.digests import DigestStore
from monitor.store.entries import EntryStore
from monitor.store.feeds import FeedSchedule, FeedStore, RecordOutcome
from monitor.store.nodes import Leases, NodeBeat, NodeRow, NodeState, NodeStore
from monitor.store.outbox import OutboxStore, SinkSync
from monitor.store.pages import OwedPage, PageCompletion, PageStore
from monitor.store.reports import ReportStore, StateTally
from monitor.store.retention import RetentionStore
from monitor.store.status import StatusStore, StoreStatus


class Store(
    FeedStore,
    EntryStore,
    DigestStore,
    OutboxStore,
    StatusStore,
    DashboardStore,
    ReportStore,
    RetentionStore,
    NodeStore,
    PageStore,
):
    """The whole store: every domain over one engine (see the module docstring)."""


__all__ = [
    "FeedQuery",
    "FeedSchedule",
    "Leases",
    "NodeBeat",
    "NodeRow",
    "NodeState",
    "OwedPage",
    "PageCompletion",
    "RecordOutcome",
    "SinkSync",
    "StateTally",
    "Store",
    "StoreStatus",
    "StoryPolicy",
]
