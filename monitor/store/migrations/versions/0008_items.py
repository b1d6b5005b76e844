"""Parsing only what changed: the last parsed body's head fingerprint and item digests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: tuple[tuple[str, Any], ...] = (
    ("item_head", sa.String(64)),
    ("item_digests", sa.LargeBinary),
    ("items_parsed_at", UTCDateTime),
)


def upgrade() -> None:
    # Nullable columns: SQLite needs no table rebuild.
    for name, type_ in COLUMNS:
        op.add_column("feeds", sa.Column(name, type_))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
