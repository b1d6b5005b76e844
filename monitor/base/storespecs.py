"""The store's upkeep settings: how long it keeps what it no longer needs, and how nodes
sharing a PostgreSQL store keep their leases."""

from __future__ import annotations

from pydantic import Field, model_validator

from monitor.base.fields import Duration, Model


class RetentionSpec(Model):
    """How long the store keeps what it no longer needs (pruned once a day).

    ``entries``: an entry its feed has not listed for this long loses its text, revisions and
    matches, keeping its key and hashes (a tombstone: it can never be new again).
    ``tombstones``: a tombstone not listed for this long goes. ``alerts``: a delivered alert
    keeps its payload this long, then only the key that keeps it single. ``counts``: the hourly
    counts behind ``newsmon status`` are kept this long.
    """

    entries: Duration = Field(90 * 86400.0, ge=86400)
    tombstones: Duration = Field(365 * 86400.0, ge=86400)
    alerts: Duration = Field(90 * 86400.0, ge=86400)
    counts: Duration = Field(35 * 86400.0, ge=86400)

    @model_validator(mode="after")
    def _order(self) -> RetentionSpec:
        if self.tombstones < self.entries:
            raise ValueError("tombstones must be kept at least as long as entries")
        return self


class NodesSpec(Model):
    """Running several nodes on one PostgreSQL: heartbeats and leases.

    Each node writes a heartbeat every ``heartbeat``, renewing the leases it holds; a node
    not seen for ``gone_after`` is shown as gone, and forgotten after ``forget_after``.
    ``lease`` (default: long enough for the slowest poll, and 2 minutes for a delivery) is how
    long a dead node's feeds and alerts wait before another node takes them.
    """

    heartbeat: Duration = Field(10.0, ge=0.1)
    lease: Duration | None = Field(None, ge=0.5)
    gone_after: Duration = Field(60.0, ge=1)
    forget_after: Duration = Field(7 * 86400.0, ge=1)

    @model_validator(mode="after")
    def _renewed_in_time(self) -> NodesSpec:
        if self.lease is not None and self.heartbeat * 2 > self.lease:
            raise ValueError("nodes.lease must be at least twice nodes.heartbeat")
        return self
