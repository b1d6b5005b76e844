"""Feed state for polite fetching: effective URL, redirects, scan hash, rhythm, failing, disabled.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: tuple[tuple[str, Any, dict[str, Any]], ...] = (
    ("effective_url", sa.Text, {}),
    ("effective_url_source", sa.String(16), {}),
    ("redirect_url", sa.Text, {}),
    ("redirect_count", sa.Integer, {"nullable": False, "server_default": "0"}),
    ("scan_hash", sa.String(64), {}),
    ("entry_interval", sa.Float, {}),
    ("publisher_interval", sa.Float, {}),
    ("last_error_kind", sa.String(32), {}),
    ("failing_since", UTCDateTime, {}),
    ("disabled_at", UTCDateTime, {}),
    ("disabled_reason", sa.Text, {}),
)


def upgrade() -> None:
    # Added columns are nullable or have a default, so SQLite needs no table rebuild.
    for name, type_, options in COLUMNS:
        op.add_column("feeds", sa.Column(name, type_, **options))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for name, _, _ in reversed(COLUMNS):
            batch.drop_column(name)
