"""Readings and each channel's current reading, in the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.errors import InputError
from bot.store.db import Database, as_utc
from bot.store.schema import bot_state, channel_progress, channel_readings, readings

VERSION_KEY = "readings:version"
READING_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class BadReadingId(InputError):
    def __init__(self, raw: str) -> None:
        shown = raw if len(raw) <= 40 else raw[:39] + "…"
        super().__init__(
            f"{shown!r} can't be a reading id: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. kari-woodencoat)."
        )


def check_id(raw: str) -> str:
    reading_id = raw.strip()
    if not READING_ID.match(reading_id):
        raise BadReadingId(raw)
    return reading_id


@dataclass(frozen=True)
class Reading:
    id: str
    title: str
    source: str
    format: str
    sections: tuple[str, ...]
    status: str  # indexing | ready
    added_by: str
    added_at: datetime
    updated_at: datetime


def _reading(row: object) -> Reading:
    m = row._mapping  # type: ignore[attr-defined]
    return Reading(
        m["id"],
        m["title"],
        m["source"],
        m["format"],
        tuple(m["sections"]),
        m["status"],
        m["added_by"],
        as_utc(m["added_at"]),
        as_utc(m["updated_at"]),
    )


class ReadingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self) -> Any:
        return pg_insert if self.db.dialect == "postgresql" else sqlite_insert

    async def save(
        self,
        reading_id: str,
        *,
        title: str,
        source: str,
        format: str,
        sections: Sequence[str],
        status: str,
        by: str,
        now: datetime,
    ) -> Reading:
        """Add the reading, or replace the one with this id (its channels keep it as current)."""
        values = {
            "id": reading_id,
            "title": title,
            "source": source,
            "format": format,
            "sections": list(sections),
            "status": status,
            "added_by": by,
            "added_at": now,
            "updated_at": now,
        }
        statement = self._insert()(readings).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[readings.c.id],  # a replaced reading keeps when and by whom it was first added
            set_={k: v for k, v in values.items() if k not in ("id", "added_at", "added_by")},
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)
        reading = await self.get(reading_id)
        assert reading is not None
        return reading

    async def set_status(self, reading_id: str, status: str, *, now: datetime) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(readings).where(readings.c.id == reading_id).values(status=status, updated_at=now)
            )

    async def get(self, reading_id: str) -> Reading | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(readings).where(readings.c.id == reading_id))).first()
        return None if row is None else _reading(row)

    async def all(self) -> list[Reading]:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(readings).order_by(readings.c.added_at, readings.c.id))).all()
        return [_reading(r) for r in rows]

    async def remove(self, reading_id: str) -> bool:
        """Forget the reading and every channel's use of it; False if there was none."""
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(channel_progress).where(channel_progress.c.reading_id == reading_id))
            await conn.execute(delete(channel_readings).where(channel_readings.c.reading_id == reading_id))
            result = await conn.execute(delete(readings).where(readings.c.id == reading_id))
        return bool(result.rowcount)

    async def version(self) -> str:
        """Changes whenever a reading is added, replaced or removed, by any process (what watchers
        poll): a token written by :meth:`bump_version` after each change."""
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(bot_state.c.value).where(bot_state.c.key == VERSION_KEY))).first()
        return "" if row is None else str(row[0])

    async def bump_version(self) -> None:
        token = secrets.token_hex(8)
        now = datetime.now(UTC)
        statement = self._insert()(bot_state).values(key=VERSION_KEY, value=token, updated_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[bot_state.c.key], set_={"value": token, "updated_at": now}
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)

    async def use(self, platform: str, channel_id: str, reading_id: str, *, by: str, now: datetime) -> None:
        values = {"platform": platform, "channel_id": channel_id, "reading_id": reading_id, "set_by": by, "set_at": now}
        statement = self._insert()(channel_readings).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[channel_readings.c.platform, channel_readings.c.channel_id],
            set_={"reading_id": reading_id, "set_by": by, "set_at": now},
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)

    async def current(self, platform: str, channel_id: str) -> str | None:
        query = select(channel_readings.c.reading_id).where(
            channel_readings.c.platform == platform, channel_readings.c.channel_id == channel_id
        )
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else str(row[0])

    async def channels_using(self, reading_id: str) -> list[tuple[str, str]]:
        query = select(channel_readings.c.platform, channel_readings.c.channel_id).where(
            channel_readings.c.reading_id == reading_id
        )
        async with self.db.engine.connect() as conn:
            return [(str(p), str(c)) for p, c in (await conn.execute(query)).all()]


@dataclass(frozen=True)
class Progress:
    """How far a channel has read one reading."""

    reading_id: str
    section_order: int
    section: str
    set_by: str
    set_at: datetime


class ProgressStore:
    """Each channel's progress per reading (kept when the channel moves on and comes back)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _insert(self) -> Any:
        return pg_insert if self.db.dialect == "postgresql" else sqlite_insert

    @staticmethod
    def _key(platform: str, channel_id: str, reading_id: str) -> Any:
        return (
            (channel_progress.c.platform == platform)
            & (channel_progress.c.channel_id == channel_id)
            & (channel_progress.c.reading_id == reading_id)
        )

    async def set(
        self, platform: str, channel_id: str, reading_id: str, *, order: int, section: str, by: str, now: datetime
    ) -> None:
        values = {
            "platform": platform,
            "channel_id": channel_id,
            "reading_id": reading_id,
            "section_order": order,
            "section": section,
            "set_by": by[:64],
            "set_at": now,
        }
        statement = self._insert()(channel_progress).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[channel_progress.c.platform, channel_progress.c.channel_id, channel_progress.c.reading_id],
            set_={k: values[k] for k in ("section_order", "section", "set_by", "set_at")},
        )
        async with self.db.engine.begin() as conn:
            await conn.execute(statement)

    async def clear(self, platform: str, channel_id: str, reading_id: str) -> bool:
        async with self.db.engine.begin() as conn:
            result = await conn.execute(delete(channel_progress).where(self._key(platform, channel_id, reading_id)))
        return bool(result.rowcount)

    async def get(self, platform: str, channel_id: str, reading_id: str) -> Progress | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(select(channel_progress).where(self._key(platform, channel_id, reading_id)))
            ).first()
        if row is None:
            return None
        m = row._mapping
        return Progress(m["reading_id"], int(m["section_order"]), m["section"], m["set_by"], as_utc(m["set_at"]))
