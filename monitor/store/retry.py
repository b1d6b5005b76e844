"""Retrying a store transaction that failed for a passing reason, with tenacity.

PostgreSQL may abort a transaction that did nothing wrong: a serialization failure or a
deadlock among nodes (SQLSTATE 40001, 40P01), or a connection cut under it (a restart, a
``pg_terminate_backend``; the pool invalidates it and the retry takes a fresh one). Each store
method is one transaction, so running it again is safe: a poll whose first commit did land
finds its lease gone and records nothing twice. A few quick tries only; when the database stays
away, the caller's next tick tries again. One ``store.retry`` log event per retry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

log = structlog.get_logger("newsmon")

TRANSIENT_STATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
ATTEMPTS = 4

P = ParamSpec("P")
T = TypeVar("T")


def sqlstate(error: BaseException) -> str | None:
    orig: Any = getattr(error, "orig", None)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


def transient(error: BaseException) -> bool:
    """Worth running the transaction again: a conflict between nodes, or a lost connection."""
    if isinstance(error, sa.exc.DBAPIError):
        return error.connection_invalidated or sqlstate(error) in TRANSIENT_STATES
    return isinstance(error, ConnectionError)


def _logged(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "store.retry",
        operation=getattr(state.fn, "__qualname__", None) if state.fn else None,
        attempt=state.attempt_number,
        sqlstate=sqlstate(error) if error else None,
        error=(str(error).splitlines() or [""])[0][:200] if error else None,
    )


def retried(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Run ``method`` (one whole transaction) again on a transient error, with backoff."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential_jitter(multiplier=0.05, max=2.0),
            retry=retry_if_exception(transient),
            before_sleep=_logged,
            reraise=True,
        )
        return await retrying(method, *args, **kwargs)

    return wrapper
