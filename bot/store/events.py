"""Which events were already handled, shared by every process on the database.

Platforms redeliver an event when they think it was missed (Slack retries, gateway
resumes); with several replicas the redelivery may reach another process. The first
process to insert an event's key handles it; the others drop it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import Clock
from bot.store.db import Database
from bot.store.schema import processed_events

KEEP = timedelta(days=1)  # platforms stop retrying within minutes
PRUNE_EVERY = 1000


class EventLog:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._claims = 0

    async def claim(self, key: str) -> bool:
        """True for the first process to see ``key``."""
        now = self.clock.now()
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                insert(processed_events).values(event_key=key[:200], seen_at=now).on_conflict_do_nothing()
            )
        self._claims += 1
        if self._claims % PRUNE_EVERY == 0:
            await self.prune(now)
        return result.rowcount == 1

    async def prune(self, now: datetime) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(processed_events).where(processed_events.c.seen_at < now - KEEP))
