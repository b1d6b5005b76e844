"""Delivery: per-sink state (disabled by a 410, last digest) and digests in the outbox.

A digest is an outbox row without an entry, so ``alerts.entry_id`` becomes nullable; the alerts
a digest gathered point at it by ``digest_id``. The ``sinks`` table keeps a sink's state across
restarts and nodes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sinks",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled_at", UTCDateTime),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("last_digest_at", UTCDateTime),
        sa.PrimaryKeyConstraint("name", name="pk_sinks"),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("entry_id", existing_type=sa.Integer, nullable=True)
        batch.add_column(sa.Column("digest_id", sa.String(64)))
        batch.create_index("ix_alerts_sink_state", ["sink", "state"])


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE entry_id IS NULL")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_sink_state")
        batch.drop_column("digest_id")
        batch.alter_column("entry_id", existing_type=sa.Integer, nullable=False)
    op.drop_table("sinks")
