"""Replicas starting together on an empty PostgreSQL database: one migrates, none crashes."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.polls_support import postgres_url

pytestmark = pytest.mark.asyncio
CHILD = """
import asyncio, pathlib, sys
from bot.store.db import Database, database_url
async def main():
    db = await Database.open(database_url(sys.argv[1], pathlib.Path(sys.argv[2])))
    await db.close()
asyncio.run(main())
"""


async def test_two_processes_migrating_one_new_database_at_once_both_succeed(tmp_path, cli_env) -> None:  # type: ignore[no-untyped-def]
    for round_ in range(3):  # unserialised, this failed about half the time
        async with postgres_url() as url:
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    CHILD,
                    url,
                    str(tmp_path),
                    env=cli_env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                for _ in range(2)
            ]
            results = [(await p.wait(), (await p.stderr.read()).decode()) for p in procs]  # type: ignore[union-attr]
            assert all(code == 0 for code, _ in results), (round_, [err[-400:] for _, err in results])


async def test_a_new_sqlite_database_is_in_wal_mode_as_soon_as_it_is_open(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Turning a file to WAL takes a lock and fails at once beside a writer ("database is locked"), so
    it happens when the database is opened, not in whichever of several racing connections comes first."""
    import contextlib
    import sqlite3

    from bot.store.db import Database, database_url

    db = await Database.open(database_url("", tmp_path))
    try:
        with contextlib.closing(sqlite3.connect(tmp_path / "readbot.db")) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        await db.close()
