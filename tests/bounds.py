"""Every async test bounded by ``asyncio.timeout``: daemons, ``run_once`` passes and in-process
CLI runs included, a hang fails fast with the test's name instead of hanging CI.

:data:`BOUND` seconds each, or what a test's ``@pytest.mark.bound(seconds)`` says. The bound
covers the test's body, not its fixtures. ``tests/conftest.py`` installs these hooks.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

BOUND = 60.0  # seconds an async test may take; @pytest.mark.bound(seconds) gives another


def _bounded(test: Callable[..., Awaitable[Any]], seconds: float, name: str) -> Any:
    """``test`` run under ``asyncio.timeout(seconds)``: a hang fails fast, and says so."""

    @functools.wraps(test)
    async def run(*args: Any, **kwargs: Any) -> Any:
        bound = asyncio.timeout(seconds)
        try:
            async with bound:
                return await test(*args, **kwargs)
        except TimeoutError:
            if not bound.expired():
                raise  # the test's own timeout, not the bound
            pytest.fail(f"{name} hung: not done within {seconds:g} s", pytrace=False)

    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Daemons, ``run_once`` passes and in-process CLI runs included, no async test can hang CI:
    each runs within :data:`BOUND` seconds, or its ``bound`` mark's."""
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            marker = item.get_closest_marker("bound")
            seconds = float(marker.args[0]) if marker else BOUND
            item.obj = _bounded(item.obj, seconds, item.nodeid)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "bound(seconds): an async test's time limit (default 60 s)")
