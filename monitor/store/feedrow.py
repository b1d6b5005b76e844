"""The feed row one poll writes: which columns, and the statement that sets them.

A poll sets some twenty columns of its feed's row, some to values and some to expressions of
the row itself (failure counting, the warning that outlives a 304). The ``UPDATE`` for each
shape of that is built once (:func:`feed_update`) and run with the poll's values as parameters:
building and keying a fresh statement was most of a 304's cost in the store.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from monitor.base.types import MALFORMED, FeedUpdateIntent, PollStatus
from monitor.store.schema import feeds


def feed_columns(intent: FeedUpdateIntent) -> dict[str, Any]:
    """The ``feeds`` columns one poll sets (see :class:`FeedUpdateIntent` for what is kept)."""
    return {
        "lease_owner": None,
        "lease_until": None,
        "last_attempt_at": intent.attempted_at,
        "next_poll_at": intent.next_poll_at,
        "last_status": intent.status,
        "last_error": intent.error,
        "last_error_kind": intent.error_kind,
        **_outcome_columns(intent),
        **_learnt_columns(intent),
    }


# The poll's time inside the SQL expressions of :func:`feed_columns`: a parameter, so that the
# statement is the same for every poll of its shape (see :func:`_feed_update`).
_AT = sa.bindparam("poll_at", type_=feeds.c.last_attempt_at.type)
_STILL_MALFORMED = feeds.c.last_error_kind == MALFORMED
# A column a poll sets from the row itself always gets the same expression.
_EXPRESSIONS: dict[str, Any] = {
    "last_error": sa.case((_STILL_MALFORMED, feeds.c.last_error), else_=None),
    "last_error_kind": sa.case((_STILL_MALFORMED, feeds.c.last_error_kind), else_=None),
    "synced_at": sa.func.coalesce(feeds.c.synced_at, _AT),
    "consecutive_failures": feeds.c.consecutive_failures + 1,
    "failing_since": sa.func.coalesce(feeds.c.failing_since, _AT),
}


def _outcome_columns(intent: FeedUpdateIntent) -> dict[str, Any]:
    """Failure counting, the failing and disabled states, and the warning that outlives a 304."""
    values: dict[str, Any] = {}
    if intent.status.body_unchanged:
        # The body last parsed is still the one served: a warning about it still holds (until a
        # clean parse); an error is over.
        values["last_error"] = _EXPRESSIONS["last_error"]
        values["last_error_kind"] = _EXPRESSIONS["last_error_kind"]
    if not intent.status.failed:
        return {
            **values,
            "consecutive_failures": 0,
            "failing_since": None,
            "last_success_at": intent.attempted_at,
            "synced_at": _EXPRESSIONS["synced_at"],
        }
    values["consecutive_failures"] = _EXPRESSIONS["consecutive_failures"]
    if intent.failing:
        values["failing_since"] = _EXPRESSIONS["failing_since"]
    if intent.status is PollStatus.GONE:
        values.update(disabled_at=intent.attempted_at, disabled_reason=intent.error)
    return values


def _learnt_columns(intent: FeedUpdateIntent) -> dict[str, Any]:
    """What the poll learnt of the feed: validators, title, identity, rhythm, where it lives.
    A field the intent leaves as None leaves its column as it is."""
    values: dict[str, Any] = {}
    if intent.body_hash is not None:
        values.update(
            etag=intent.etag,
            last_modified=intent.last_modified,
            body_hash=intent.body_hash,
            scan_hash=intent.scan_hash,
        )
    if intent.items is not None:
        values.update(
            item_head=intent.items.head_hash,
            item_digests=intent.items.digests,
            items_parsed_at=intent.items.full_parsed_at,
        )
    elif intent.status is PollStatus.OK:  # parsed whole, but the body did not cut cleanly
        values.update(item_head=None, item_digests=None, items_parsed_at=None)
    if intent.title:
        values["title"] = intent.title
    if intent.status is PollStatus.OK:
        values["last_parsed_at"] = intent.attempted_at
    if intent.identity is not None:
        values["identity"] = intent.identity
    if intent.rhythm is not None:
        values.update(
            entry_interval=intent.rhythm.entry_interval,
            publisher_interval=intent.rhythm.publisher_interval,
        )
    if intent.redirect is not None:
        values.update(redirect_url=intent.redirect.url, redirect_count=intent.redirect.count)
    if intent.relocation is not None:
        values.update(
            effective_url=intent.relocation.url, effective_url_source=intent.relocation.source
        )
    return values


def feed_update(intent: FeedUpdateIntent, node: str) -> tuple[Any, dict[str, Any]]:
    """The statement that writes ``intent`` into its feed's row while ``node`` holds the
    lease (it returns the feed's count of polls), and its parameters."""
    values = feed_columns(intent)
    literals = {k: v for k, v in values.items() if not isinstance(v, sa.ClauseElement)}
    shape = (tuple(literals), tuple(k for k in values if k not in literals))
    parameters = {f"set_{k}": v for k, v in literals.items()}
    parameters.update(poll_at=intent.attempted_at, feed_id=intent.feed_id, node=node)
    return _statement(shape), parameters


@functools.lru_cache(maxsize=256)
def _statement(shape: tuple[tuple[str, ...], tuple[str, ...]]) -> Any:
    """The ``UPDATE`` of a poll's feed row for one shape of :func:`feed_columns` (the columns
    set to values, the columns set by expressions), built once: building and keying a statement
    of twenty columns was most of a 304's cost in the store."""
    literals, expressions = shape
    f = feeds.c
    values: dict[str, Any] = {k: sa.bindparam(f"set_{k}", type_=f[k].type) for k in literals}
    values.update({k: _EXPRESSIONS[k] for k in expressions})
    return (
        feeds.update()
        .where(f.id == sa.bindparam("feed_id"), f.lease_owner == sa.bindparam("node"))
        .values(**values, polls=f.polls + 1)
        .returning(f.polls)
    )
