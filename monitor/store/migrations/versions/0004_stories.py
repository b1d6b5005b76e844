"""Stories and revisions: one story per event, however many feeds carry it.

Entries belong to stories (same canonical link, or near-identical text); alerts are unique per
(sink, rule, story, revision) instead of per entry. Entries keep revisions with diffs, their
last sighting, and their hashes after pruning (tombstones). Feeds say how their entries are
told apart (guid, link or hash).

Existing entries get a story each (one per canonical link), and existing alerts their entry's
story, so that upgrading keeps every guarantee for what was already seen.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.store.schema import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("canonical_url", sa.Text),
        sa.Column("sketch", sa.LargeBinary),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.UniqueConstraint("canonical_url", name="uq_stories_canonical_url"),
    )
    op.create_index("ix_stories_first_seen_at", "stories", ["first_seen_at"])
    op.create_table(
        "story_bands",
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("band", sa.SmallInteger, nullable=False, autoincrement=False),
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("story_id", "band", name="pk_story_bands"),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name="fk_story_bands_story_id_stories",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_story_bands_key", "story_bands", ["key"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("diff", sa.JSON),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revisions"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_revisions_entry_id_entries", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("entry_id", "revision", name="uq_revisions_entry_id_revision"),
    )
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("identity", sa.String(8), nullable=False, server_default="guid"))
        batch.add_column(sa.Column("last_parsed_at", UTCDateTime))
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer))
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("material_hash", sa.String(64)))
        batch.add_column(sa.Column("hash_changes", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_seen_at", UTCDateTime))
        batch.add_column(sa.Column("listed", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("pruned_at", UTCDateTime))
        batch.create_index("ix_entries_story_id", ["story_id"])
        batch.create_index("ix_entries_canonical_url", ["canonical_url"])
        batch.create_index("ix_entries_feed_id_content_hash", ["feed_id", "content_hash"])
        batch.create_index("ix_entries_last_seen_at", ["last_seen_at"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("story_id", sa.Integer))
    _give_existing_entries_stories()
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_sink_rule_id_entry_id_revision", type_="unique")
        batch.create_unique_constraint(
            "uq_alerts_sink_rule_id_story_id_revision", ["sink", "rule_id", "story_id", "revision"]
        )


def _give_existing_entries_stories() -> None:
    conn = op.get_bind()
    story_of_url: dict[str, int] = {}
    rows = conn.execute(
        sa.text("SELECT id, canonical_url, first_seen_at, last_seen_at FROM entries ORDER BY id")
    ).all()
    stories = sa.table(
        "stories",
        sa.column("id", sa.Integer),
        sa.column("canonical_url", sa.Text),
        sa.column("first_seen_at", UTCDateTime),
    )
    for entry_id, url, first_seen, _ in rows:
        story_id = story_of_url.get(url) if url else None
        if story_id is None:
            first = first_seen if not isinstance(first_seen, str) else _parse(first_seen)
            story_id = conn.execute(
                stories.insert()
                .values(canonical_url=url, first_seen_at=first)
                .returning(stories.c.id)
            ).scalar_one()
            if url:
                story_of_url[url] = story_id
        conn.execute(
            sa.text(
                "UPDATE entries SET story_id = :story, last_seen_at = first_seen_at WHERE id = :id"
            ),
            {"story": story_id, "id": entry_id},
        )
    seen: set[tuple[object, ...]] = set()
    for alert_id, sink, rule_id, revision_, story_id in conn.execute(
        sa.text(
            "SELECT a.id, a.sink, a.rule_id, a.revision, e.story_id FROM alerts a "
            "JOIN entries e ON e.id = a.entry_id ORDER BY a.created_at, a.id"
        )
    ).all():
        key = (sink, rule_id, story_id, revision_)
        if key in seen:
            continue  # an earlier alert already speaks for this story: leave this one unlinked
        seen.add(key)
        conn.execute(
            sa.text("UPDATE alerts SET story_id = :story WHERE id = :id"),
            {"story": story_id, "id": alert_id},
        )


def _parse(text: str) -> object:
    from datetime import UTC, datetime

    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_sink_rule_id_story_id_revision", type_="unique")
        batch.drop_column("story_id")
        batch.create_unique_constraint(
            "uq_alerts_sink_rule_id_entry_id_revision", ["sink", "rule_id", "entry_id", "revision"]
        )
    with op.batch_alter_table("entries") as batch:
        batch.drop_index("ix_entries_last_seen_at")
        batch.drop_index("ix_entries_feed_id_content_hash")
        batch.drop_index("ix_entries_canonical_url")
        batch.drop_index("ix_entries_story_id")
        for column in (
            "pruned_at",
            "listed",
            "last_seen_at",
            "hash_changes",
            "material_hash",
            "revision",
            "story_id",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("last_parsed_at")
        batch.drop_column("identity")
    op.drop_table("revisions")
    op.drop_table("story_bands")
    op.drop_table("stories")
