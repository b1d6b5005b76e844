"""The store's link to its database: open (connect, migrate, lock), close, transactions.

Every store method is one transaction, begun with :meth:`StoreCore._write` (``BEGIN
IMMEDIATE`` on SQLite, so writers queue) or :meth:`StoreCore._read`. The domains built on it
are :mod:`~monitor.store.feeds`, :mod:`~monitor.store.entries`, :mod:`~monitor.store.outbox`,
:mod:`~monitor.store.digests`, :mod:`~monitor.store.reports` and :mod:`~monitor.store.retention`;
:class:`monitor.store.Store` is all of them over one engine.
"""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.base.clock import Clock
from monitor.base.errors import StoreError
from monitor.stages.stories import StoryPolicy
from monitor.store import engine as engine_mod


class StoreCore:
    """Async access to the state database; open with :meth:`open`, close with :meth:`close`."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        lock: engine_mod.StateLock | None,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{engine_mod.WRITE: True})
        self._lock = lock
        self.now = clock
        self.rng = rng or random.Random()
        self.dialect = engine.dialect.name
        self._insert: Any = _insert_of(self.dialect)
        self.story_policy = StoryPolicy()

    @classmethod
    async def open(
        cls,
        state: str,
        clock: Clock,
        *,
        exclusive: bool = False,
        rng: random.Random | None = None,
        schema: engine_mod.SchemaPolicy = engine_mod.SchemaPolicy.UPGRADE,
    ) -> Self:
        """Connect, check the schema (migrating it as ``schema`` allows), and with
        ``exclusive`` take the single-node lock (SQLite only)."""
        url = engine_mod.database_url(state)
        lock = None
        if exclusive and url.get_backend_name() == "sqlite":
            lock = engine_mod.StateLock(Path(url.database or ""))
            lock.acquire()
        engine = engine_mod.create_engine(url)
        try:
            await engine_mod.prepare(engine, schema)
        except BaseException as e:
            await engine.dispose()
            if lock:
                lock.release()
            if not isinstance(e, OSError | sa.exc.SQLAlchemyError) and not _alembic_error(e):
                raise
            raise StoreError(
                f"cannot open state {url.render_as_string(hide_password=True)}: {e}"
            ) from e
        return cls(engine, clock, lock, rng)

    @property
    def single_node(self) -> bool:
        return self._lock is not None

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for tools that read the tables directly (tests, benchmarks)."""
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()
        if self._lock:
            self._lock.release()

    async def _serialize(self, conn: AsyncConnection, key: int) -> None:
        """Hold a PostgreSQL advisory lock until ``conn``'s transaction ends (SQLite writers
        queue already)."""
        if self.dialect == "postgresql":
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        async with self._writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        async with self._engine.begin() as conn:
            yield conn


def _insert_of(dialect: str) -> Any:
    """The dialect's ``insert`` (with ``on_conflict_*``); PostgreSQL's only imported for it."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _alembic_error(e: BaseException) -> bool:
    """An error of Alembic's (imported only when a migration ran, so only then can it be)."""
    module = sys.modules.get("alembic.util")
    return module is not None and isinstance(e, module.CommandError)
