"""History for the dashboard: each feed's last polls (a ring) and every delivery attempt.

``poll_history`` keeps the last ``POLL_RING`` polls of each feed, slot ``feeds.polls % 20``
overwritten by one upsert; ``delivery_attempts`` one row per settled attempt, deleted with its
alert. ``feeds.tags`` holds the config's tags (``,a,b,``) for the feeds filter; indexes serve
the dashboard: feeds by name, the feeds-by-state tally (covering), a rule's matches by
time, alerts by time.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("polls", sa.Integer, nullable=False, server_default="0"))
    op.add_column("feeds", sa.Column("tags", sa.Text))
    op.create_index("ix_feeds_name", "feeds", ["name"])
    op.create_index(
        "ix_feeds_state",
        "feeds",
        ["active", "disabled_at", "failing_since", "last_status", "last_error_kind"],
    )
    op.create_table(
        "poll_history",
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("slot", sa.SmallInteger, nullable=False, autoincrement=False),
        sa.Column("poll", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("new_entries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_poll_history_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("feed_id", "slot", name="pk_poll_history"),
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("answer", sa.Text),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name="fk_delivery_attempts_alert_id_alerts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_alert_id", "delivery_attempts", ["alert_id"])
    op.create_index("ix_matches_rule_id_created_at", "matches", ["rule_id", "created_at"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_created_at", "alerts")
    op.drop_index("ix_matches_rule_id_created_at", "matches")
    op.drop_index("ix_delivery_attempts_alert_id", "delivery_attempts")
    op.drop_table("delivery_attempts")
    op.drop_table("poll_history")
    op.drop_index("ix_feeds_state", "feeds")
    op.drop_index("ix_feeds_name", "feeds")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("tags")
        batch.drop_column("polls")
