"""Poll test support: real databases (SQLite in a tmp dir, PostgreSQL on this machine)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.store.db import Database, database_url

PG_ADMIN = os.environ.get("READBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin():  # type: ignore[no-untyped-def]
    import asyncpg

    try:
        return await asyncpg.connect(PG_ADMIN.replace("postgresql+asyncpg", "postgresql"), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            raise  # CI machines have PostgreSQL: never skip there
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")


@asynccontextmanager
async def postgres_url() -> AsyncIterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards."""
    name = f"readbot_test_{secrets.token_hex(4)}"
    admin = await _pg_admin()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def open_database(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    if kind == "sqlite":
        db = await Database.open(database_url("", tmp_path))
        try:
            yield db
        finally:
            await db.close()
        return
    async with postgres_url() as url:
        db = await Database.open(database_url(url, tmp_path))
        try:
            yield db
        finally:
            await db.close()
