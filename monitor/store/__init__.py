"""The state store (SQLite by default, PostgreSQL for several nodes)."""

from monitor.store.store import FeedSchedule, RecordOutcome, Store

__all__ = ["FeedSchedule", "RecordOutcome", "Store"]
