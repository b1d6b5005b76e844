"""Transient database errors: a real PostgreSQL deadlock is recognised and the transaction run
again (one log event per retry); an error that would only repeat is not retried."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from structlog.testing import capture_logs

from monitor.store.engine import database_url
from monitor.store.retry import retried, sqlstate, transient

pytestmark = pytest.mark.postgres


async def deadlock(engine: AsyncEngine) -> sa.exc.DBAPIError:
    """Two transactions locking two rows in opposite orders: PostgreSQL aborts one."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE pair (id int PRIMARY KEY)"))
        await conn.execute(sa.text("INSERT INTO pair VALUES (1), (2)"))
    both = asyncio.Barrier(2)

    async def lock(first: int, second: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(sa.text("SET LOCAL deadlock_timeout = '100ms'"))
            await conn.execute(sa.text(f"SELECT * FROM pair WHERE id = {first} FOR UPDATE"))
            await both.wait()
            await conn.execute(sa.text(f"SELECT * FROM pair WHERE id = {second} FOR UPDATE"))

    results = await asyncio.gather(lock(1, 2), lock(2, 1), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1, results
    assert isinstance(errors[0], sa.exc.DBAPIError)
    return errors[0]


async def test_a_deadlock_is_retried_and_logged_once_per_retry(pg_state: str) -> None:
    engine = create_async_engine(database_url(pg_state))
    try:
        error = await deadlock(engine)
    finally:
        await engine.dispose()
    assert sqlstate(error) == "40P01"
    assert transient(error)
    calls = []

    @retried
    async def transaction(n: int) -> int:
        calls.append(n)
        if len(calls) < 3:
            raise error
        return n * 2

    with capture_logs() as logs:
        assert await transaction(21) == 42
    assert calls == [21, 21, 21]
    retries = [e for e in logs if e["event"] == "store.retry"]
    assert [(e["attempt"], e["sqlstate"]) for e in retries] == [(1, "40P01"), (2, "40P01")]


async def test_an_error_that_would_repeat_is_raised_at_once(pg_state: str) -> None:
    engine = create_async_engine(database_url(pg_state))
    calls = 0

    @retried
    async def transaction() -> None:
        nonlocal calls
        calls += 1
        async with engine.begin() as conn:
            await conn.execute(sa.text("SELECT * FROM no_such_table"))

    try:
        with pytest.raises(sa.exc.ProgrammingError) as raised:
            await transaction()
    finally:
        await engine.dispose()
    assert calls == 1
    assert not transient(raised.value)
