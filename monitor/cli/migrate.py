"""``newsmon migrate``: bring the state schema to this newsmon's revision (``--check``: report).

Only ``run`` and ``migrate`` ever migrate a shared (PostgreSQL) schema; every other command
refuses one that is not this newsmon's. The advisory lock in the migration makes nodes that
start together migrate once.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import sqlalchemy as sa

from monitor.base.errors import StoreError
from monitor.cli.common import OK, PROBLEM, load, print_json


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    migrate = commands.add_parser(
        "migrate", parents=[common], help="bring the state schema to this newsmon's revision"
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="only report the current and target revisions (exit 1 when a migration is due)",
    )
    migrate.set_defaults(func=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    report = asyncio.run(_migrate(loaded.settings.state, check=args.check))
    if args.json:
        print_json(report)
    elif report["migrated"]:
        print(f"state: migrated from {report['current'] or 'nothing'} to {report['target']}")
    elif report["pending"]:
        print(
            f"state: at revision {report['current'] or '(none)'}, this newsmon's is "
            f"{report['target']}: `newsmon migrate` upgrades it"
        )
    else:
        print(f"state: at revision {report['current']}, up to date")
    return PROBLEM if report["pending"] and not report["migrated"] else OK


async def _migrate(state: str, *, check: bool) -> dict[str, Any]:
    from monitor.store import engine as engine_mod

    url = engine_mod.database_url(state)
    engine = engine_mod.create_engine(url)
    try:
        if check:
            found = await engine_mod.revisions(engine)
            if not found.known:
                await engine_mod.prepare(engine, engine_mod.SchemaPolicy.REQUIRE)  # the refusal
            migrated = False
        else:
            found = await engine_mod.prepare(engine, engine_mod.SchemaPolicy.UPGRADE)
            migrated = found.pending
    except (OSError, sa.exc.SQLAlchemyError) as e:
        where = url.render_as_string(hide_password=True)
        raise StoreError(f"cannot open state {where}: {e}") from e
    finally:
        await engine.dispose()
    return {
        "current": found.current,
        "target": found.head,
        "pending": found.pending,
        "migrated": migrated,
    }
