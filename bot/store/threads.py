"""The threads readbot started (``bot_threads``): a thread opened by one of its answers or by a
discussion prompt. Kept in the database, so every replica and every restart knows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.events import Channel, MessageRef, Reply, Where
from bot.store.db import Database
from bot.store.schema import bot_threads

KINDS = ("answer", "prompt")


def thread_of(ref: MessageRef) -> Where:
    """The thread a post is in, or the one it opens (a top-level post: replies to it form a thread
    whose id is the post's: Slack's thread_ts, the Discord thread started from the message)."""
    return ref.where if ref.where.thread_id else Where(ref.where.channel, thread_id=ref.message_id)


class BotThreads:
    def __init__(self, db: Database, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """``now``: the clock threads are recorded by (the app's)."""
        self.db = db
        self.now = now

    async def record(self, thread: Where, kind: str, *, at: datetime | None = None) -> None:
        """Remember that readbot started ``thread`` (the first record of a thread stays)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if not thread.thread_id:
            raise ValueError("a thread is needed")
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        statement = (
            insert(bot_threads)
            .values(
                platform=thread.channel.platform,
                channel_id=thread.channel.id,
                thread_id=thread.thread_id,
                kind=kind,
                started_at=at or self.now(),
            )
            .on_conflict_do_nothing()
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)

    async def kind(self, thread: Where) -> str | None:
        """``"answer"`` or ``"prompt"`` for a thread readbot started, else None."""
        if not thread.thread_id:
            return None
        query = select(bot_threads.c.kind).where(
            bot_threads.c.platform == thread.channel.platform,
            bot_threads.c.channel_id == thread.channel.id,
            bot_threads.c.thread_id == thread.thread_id,
        )
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else str(row[0])

    async def record_post(self, ref: MessageRef, reply: Reply) -> None:
        """An outbox listener: a public post that opens a thread (a discussion prompt) is recorded."""
        if reply.start_thread:
            await self.record(thread_of(ref), "prompt")

    async def due_for_recap(self, started_before: datetime, *, limit: int = 50) -> list[Where]:
        """Prompts' threads started before ``started_before`` and not recapped yet, oldest first."""
        query = (
            select(bot_threads.c.platform, bot_threads.c.channel_id, bot_threads.c.thread_id)
            .where(
                bot_threads.c.kind == "prompt",
                bot_threads.c.recapped_at.is_(None),
                bot_threads.c.started_at <= started_before,
            )
            .order_by(bot_threads.c.started_at)
            .limit(limit)
        )
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Where(Channel(str(p), str(c)), thread_id=str(t)) for p, c, t in rows]

    async def claim_recap(self, thread: Where, now: datetime) -> bool:
        """True for the one process whose claim of the thread's scheduled recap succeeds."""
        return await self._set_recapped(thread, now, claimed=False)

    async def release_recap(self, thread: Where) -> None:
        """The recap could not be posted: let a later look try again."""
        await self._set_recapped(thread, None, claimed=True)

    async def _set_recapped(self, thread: Where, value: datetime | None, *, claimed: bool) -> bool:
        condition = bot_threads.c.recapped_at.is_not(None) if claimed else bot_threads.c.recapped_at.is_(None)
        statement = (
            update(bot_threads)
            .where(
                bot_threads.c.platform == thread.channel.platform,
                bot_threads.c.channel_id == thread.channel.id,
                bot_threads.c.thread_id == thread.thread_id,
                condition,
            )
            .values(recapped_at=value)
        )
        async with self.db.engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount == 1)
