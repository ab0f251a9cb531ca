"""Small named values kept between runs (``bot_state``), e.g. the hash of the commands last
synced to Discord."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.store.db import Database
from bot.store.schema import bot_state


class BotState:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(bot_state.c.value).where(bot_state.c.key == key))).first()
        return None if row is None else str(row[0])

    async def set(self, key: str, value: str) -> None:
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        now = datetime.now(UTC)
        statement = insert(bot_state).values(key=key, value=value, updated_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[bot_state.c.key], set_={"value": value, "updated_at": now}
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)
