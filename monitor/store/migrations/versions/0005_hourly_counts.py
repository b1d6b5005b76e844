"""Hourly counts for ``newsmon status``, and discarded dead alerts.

``hourly_counts`` holds, per hour, polls by status, new entries and delivery attempts by sink
and outcome: one small row per (hour, kind, sink, outcome), bumped in the transaction that
records what it counts. ``alerts.discarded_at`` records when the operator gave a dead alert up.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hourly_counts",
        sa.Column("hour", UTCDateTime, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sink", sa.Text, nullable=False, server_default=""),
        sa.Column("outcome", sa.String(32), nullable=False, server_default=""),
        sa.Column("n", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("hour", "kind", "sink", "outcome", name="pk_hourly_counts"),
    )
    op.add_column("alerts", sa.Column("discarded_at", UTCDateTime))


def downgrade() -> None:
    op.execute("UPDATE alerts SET state = 'dead' WHERE state = 'discarded'")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("discarded_at")
    op.drop_table("hourly_counts")
