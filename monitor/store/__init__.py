"""The state store (SQLite by default, PostgreSQL for several nodes)."""

from monitor.store.entries import StoryPolicy
from monitor.store.store import FeedSchedule, RecordOutcome, SinkSync, StateTally, Store

__all__ = ["FeedSchedule", "RecordOutcome", "SinkSync", "StateTally", "Store", "StoryPolicy"]
