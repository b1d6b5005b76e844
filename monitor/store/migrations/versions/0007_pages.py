"""Article pages: an entry's page owed, read or fallen back; the feed's own text kept beside it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added columns, not a rebuild: SQLite adds nullable columns in place.
    op.add_column("entries", sa.Column("feed_content", sa.Text))
    op.add_column("entries", sa.Column("page_at", UTCDateTime))
    op.create_table(
        "pages",
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("feed_id", sa.Integer, nullable=False),
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
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_pages_entry_id_entries", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_pages_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_pages"),
    )
    op.create_index("ix_pages_state_next_attempt_at", "pages", ["state", "next_attempt_at"])
    op.create_index("ix_pages_feed_id_state", "pages", ["feed_id", "state"])


def downgrade() -> None:
    op.drop_table("pages")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("page_at")
        batch.drop_column("feed_content")
