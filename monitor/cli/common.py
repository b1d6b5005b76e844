"""What every command shares: loading the config, opening the store, printing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from monitor.base.clock import utcnow
from monitor.base.errors import ConfigError, Problem
from monitor.config import LoadedConfig, load_config

DEFAULT_CONFIG = "config/newsmon.yaml"

OK, PROBLEM, USAGE = 0, 1, 2
T = TypeVar("T")


def default_config() -> str:
    return os.environ.get("NEWSMON_CONFIG") or DEFAULT_CONFIG


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=_json_default))


def problem_dict(problem: Problem) -> dict[str, Any]:
    where = problem.position
    return {
        "file": where.file if where else None,
        "line": where.line if where else None,
        "col": where.col if where else None,
        "severity": problem.severity,
        "message": problem.message,
    }


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def load(args: argparse.Namespace) -> LoadedConfig | None:
    """The config, or None after printing every problem (the caller exits 1)."""
    try:
        loaded = load_config(args.config)
    except ConfigError as e:
        if args.json:
            print_json({"ok": False, "problems": [problem_dict(p) for p in e.problems]})
        else:
            for problem in e.problems:
                print(problem, file=sys.stderr if args.command != "check" else sys.stdout)
        return None
    return loaded


async def with_store(loaded: LoadedConfig, action: Callable[[Any], Awaitable[T]]) -> T:
    """``action(store)`` on the configured store, closed afterwards."""
    from monitor.store import Store
    from monitor.store.engine import SchemaPolicy

    store = await Store.open(loaded.settings.state, utcnow, schema=SchemaPolicy.REQUIRE)
    try:
        return await action(store)
    finally:
        await store.close()
