"""The threads readbot started (``bot_threads``): a thread opened by one of its answers or by a
discussion prompt. Kept in the database, so every replica and every restart knows them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.events import MessageRef, Reply, Where
from bot.store.db import Database
from bot.store.schema import bot_threads

KINDS = ("answer", "prompt")


def thread_of(ref: MessageRef) -> Where:
    """The thread a post is in, or the one it opens (a top-level post: replies to it form a thread
    whose id is the post's: Slack's thread_ts, the Discord thread started from the message)."""
    return ref.where if ref.where.thread_id else Where(ref.where.channel, thread_id=ref.message_id)


class BotThreads:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, thread: Where, kind: str) -> None:
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
                started_at=datetime.now(UTC),
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
