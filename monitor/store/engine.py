"""Opening the state store: engine, SQLite pragmas and locking, Alembic migrations.

SQLite (the default) is one node: WAL so readers never block the writer, ``synchronous=FULL``
because the outbox must survive power loss (write rates here are tiny), a busy timeout, and
explicit ``BEGIN IMMEDIATE`` for writes so two writers queue instead of failing on a lock upgrade.
An exclusive lock file keeps a second daemon off the same database.

PostgreSQL is many nodes: claims use ``FOR UPDATE SKIP LOCKED`` and migrations take an advisory
lock so that nodes starting together do not race.
"""

from __future__ import annotations

import fcntl
import functools
import importlib
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from monitor.base.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x6E65_7773  # "news"
WRITE = "newsmon_write"


def database_url(state: str) -> sa.URL:
    """The async driver URL for a ``state:`` setting (``sqlite:///...``, ``postgresql://...``)."""
    try:
        url = sa.make_url(state)
    except sa.exc.ArgumentError as e:
        raise StoreError(f"state: {state!r} is not a database URL") from e
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreError("state: SQLite needs a file path (sqlite:///path/newsmon.db)")
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        _require("asyncpg", "PostgreSQL", "postgresql")
        return url.set(drivername="postgresql+asyncpg")
    raise StoreError(f"state: unsupported database {backend!r} (use sqlite:/// or postgresql://)")


def _require(module: str, what: str, extra: str) -> None:
    """A missing optional driver is one line naming the extra that brings it."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise StoreError(
            f"state: {what} needs the {module} package, which is not installed: "
            f"pip install 'newsmon[{extra}]'"
        ) from None


def create_engine(url: sa.URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's implicit transactions cannot BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class SchemaPolicy(StrEnum):
    """What opening the store does with a schema older than the code."""

    UPGRADE = "upgrade"  # ``run`` and ``migrate``: bring it to this code's newest revision
    # Every other command: refuse on PostgreSQL (nodes share it; ``newsmon migrate`` decides
    # when); SQLite is one node's own file, and follows the code as before.
    REQUIRE = "require"


@dataclass(frozen=True)
class Revisions:
    """The store's schema revision (None: no schema yet) and this code's newest."""

    current: str | None
    head: str
    known: bool  # this code knows ``current`` (False: a newer newsmon migrated it)

    @property
    def pending(self) -> bool:
        return self.current != self.head


def _config() -> Config:
    from alembic.config import Config  # Alembic (and Mako) only when a migration is due

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """This code's newest schema revision."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


@functools.cache
def _quick_head() -> str | None:
    """The newest revision, read from the migration files without importing Alembic: the one
    no other names as its ``down_revision`` (None when that is not exactly one)."""
    revision, down = (
        re.compile(r'^revision[^=]*= *"([^"]+)"', re.M),
        re.compile(r'^down_revision[^=]*= *"([^"]+)"', re.M),
    )
    found, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text()
        found.update(revision.findall(text))
        parents.update(down.findall(text))
    heads = found - parents
    return heads.pop() if len(heads) == 1 else None


def _current(connection: sa.Connection) -> str | None:
    """The store's revision, read without Alembic (None: no version table, or no row)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _revisions(connection: sa.Connection) -> Revisions:
    current, head = _current(connection), _quick_head()
    if current is not None and current == head:
        return Revisions(current, head, True)  # the usual start: nothing to migrate
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(_config())
    current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    try:
        known = current is None or script.get_revision(current) is not None
    except CommandError:
        known = False
    return Revisions(current, head, known)


async def revisions(engine: AsyncEngine) -> Revisions:
    async with engine.connect() as connection:
        return await connection.run_sync(_revisions)


async def prepare(engine: AsyncEngine, policy: SchemaPolicy) -> Revisions:
    """Check the schema against the code and migrate it when ``policy`` allows; the revisions
    it found. A schema newer than the code is refused whatever the policy."""
    found = await revisions(engine)
    if not found.known:
        raise StoreError(
            f"the state schema is at revision {found.current}, newer than this newsmon "
            f"(which knows up to {found.head}): upgrade newsmon here"
        )
    if not found.pending:
        return found
    if policy is SchemaPolicy.REQUIRE and engine.dialect.name != "sqlite":
        now = f"is at revision {found.current}" if found.current else "has no newsmon schema yet"
        raise StoreError(
            f"the state schema {now} and this newsmon needs {found.head}: "
            "run `newsmon migrate` first"
        )
    await migrate(engine)
    return found


def _upgrade(connection: sa.Connection, target: str = "head") -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    from alembic import command

    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


async def migrate(engine: AsyncEngine, target: str = "head") -> None:
    """Bring the schema to the newest revision (or ``target``); a no-op when it already is.

    On SQLite, Alembic changes most columns by copying a table into a new one and dropping the
    old; with foreign keys on, that drop would delete every row that points at it (ON DELETE
    CASCADE). So migrations run with foreign keys off, as SQLite's documentation prescribes for
    schema changes, and must leave no dangling reference behind (``foreign_key_check``).
    """
    engine = engine.execution_options(**{WRITE: True})
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, target)
        return
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is ignored
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade, target)
                dangling = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if dangling:
                    raise StoreError(f"a migration left dangling references: {dangling[:5]}")
        finally:
            await raw.execute("PRAGMA foreign_keys=ON")


class StateLock:
    """An exclusive lock beside a SQLite database: one daemon per state file."""

    def __init__(self, database: Path) -> None:
        database = Path(os.path.abspath(database))
        self.path = database.with_name(database.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(
                f"{self.path.with_suffix('')} is in use by {holder}; SQLite state serves one "
                "newsmon process (use PostgreSQL to run several)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
