"""A redelivered event is handled once, even when it reaches another process."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.core.dispatcher import Dispatcher, default_middleware
from bot.core.events import Channel, Message, Reply, User, Where
from bot.core.feature import Routes
from bot.store.events import EventLog
from tests.polls_support import open_database

pytestmark = pytest.mark.asyncio


class Quiet:
    async def acknowledge(self, *, private: bool = False) -> None: ...

    async def open_form(self, form: object) -> None: ...

    async def reply(self, reply: Reply) -> None: ...


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_processes_sharing_a_database_handle_a_retry_once(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    handled: list[str] = []

    async def handler(event, responder) -> None:  # type: ignore[no-untyped-def]
        handled.append(event.event_id)

    async with open_database(kind, tmp_path) as db:
        clock = ManualClock(datetime(2026, 11, 3, tzinfo=UTC))
        replicas = []
        for _ in range(2):  # two dispatchers: two processes' worth of state, one database
            replicas.append(
                Dispatcher(Routes(on_message=handler), middleware=default_middleware(claim=EventLog(db, clock).claim))
            )
        event = Message("Ev1", Where(Channel("slack", "C1")), User("U1"), "What is SSI?", "1.0")
        assert await replicas[0].dispatch(event, Quiet()) is True
        assert await replicas[1].dispatch(event, Quiet()) is False  # the retry reached the other replica
        assert await replicas[0].dispatch(event, Quiet()) is False
        other = Message("Ev2", Where(Channel("slack", "C1")), User("U1"), "Is scaling over?", "2.0")
        assert await replicas[1].dispatch(other, Quiet()) is True
        assert handled == ["Ev1", "Ev2"]


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_migrations_in_order_build_exactly_the_schema(kind: str, tmp_path: Path) -> None:
    """Alembic's chain (0001 … head, one line of revisions) builds every table, column and index
    bot/store/schema.py declares, and nothing else."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    import bot.store
    from bot.store.schema import metadata

    async with open_database(kind, tmp_path) as db, db.engine.connect() as conn:
        # SQLite keeps any length in a VARCHAR (0006 widens polls.status only where it is enforced)
        options = {"compare_type": kind != "sqlite"}
        diffs = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts=options), metadata)
        )
        current = await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads())
    assert diffs == []
    script = ScriptDirectory(str(Path(bot.store.__file__).parent / "migrations"))
    revisions = [r.revision for r in script.walk_revisions()]
    assert script.get_heads() == [revisions[0]] and tuple(current) == (revisions[0],)
    assert revisions[::-1] == [f"{n:04d}" for n in range(1, len(revisions) + 1)]  # numbered in order, no gaps
