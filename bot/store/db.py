"""The database: SQLite under the data dir by default, PostgreSQL by URL.

One async engine per process, opened in one place (:meth:`Database.open`). The schema
is brought up to date with Alembic migrations at start-up, so an upgrade keeps
existing polls.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import overload

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


@overload
def as_utc(value: datetime) -> datetime: ...


@overload
def as_utc(value: None) -> None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite hands back naive UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def database_url(url: str, data_dir: Path) -> str:
    """READBOT_DATABASE_URL, normalised to an async driver; default SQLite in the data dir."""
    if not url:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(data_dir / 'readbot.db').resolve()}"
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            "READBOT_DATABASE_URL is malformed: expected e.g. postgresql://user@host:5432/db or sqlite:///path.db"
        ) from None
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif driver not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ConfigError(f"READBOT_DATABASE_URL uses {driver!r}: expected postgresql or sqlite")
    return parsed.render_as_string(hide_password=False)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database can't be used right now (refused or dropped connections, a
    timeout, a full disk, a locked or read-only file), as opposed to a bug or bad data."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        causes = (exc.orig, getattr(exc.orig, "__cause__", None))  # asyncpg's error sits behind the DBAPI one
        return any(c is not None and c is not exc and is_outage(c) for c in causes)
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError | TimeoutError | OSError):
        return True
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(
        exc,
        asyncpg.exceptions.PostgresConnectionError
        | asyncpg.exceptions.InterfaceError
        | asyncpg.exceptions.CannotConnectNowError
        | asyncpg.exceptions.InsufficientResourcesError
        | asyncpg.exceptions.DiskFullError
        | asyncpg.exceptions.ReadOnlySQLTransactionError,
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode")  # reading the mode takes no lock; changing it does, and fails
    if str(cursor.fetchone()[0]).lower() != "wal":  # at once ("database is locked") beside a writer
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    """Take SQLite's write lock when a transaction starts. A deferred transaction that reads
    and then writes fails at once with "database is locked" when another writer got there
    first (SQLite can't wait without risking a deadlock); BEGIN IMMEDIATE waits its turn
    (busy_timeout) instead."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, engine: AsyncEngine, url: str) -> None:
        self.engine = engine
        self.url = url

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Database:
        is_sqlite = url.startswith("sqlite")
        engine = create_async_engine(url, pool_pre_ping=not is_sqlite)
        if is_sqlite:
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(engine.sync_engine, "begin", _sqlite_begin)
        db = cls(engine, url)
        if migrate:
            await db.migrate()
        if is_sqlite:
            async with engine.connect():  # the file turns to WAL now, before connections race to do it
                pass
        return db

    async def migrate(self) -> None:
        """Upgrade to the newest schema (Alembic runs its own loop: do it off this one)."""
        await asyncio.to_thread(upgrade, self.url)

    async def close(self) -> None:
        await self.engine.dispose()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)
