"""Nodes: one row per daemon process, kept by its heartbeat (``newsmon nodes``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.Text, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_nodes"),
    )


def downgrade() -> None:
    op.drop_table("nodes")
