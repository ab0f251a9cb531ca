"""Prompt persistence: slot claims (the database decides who posts), each channel's place
in the bank, pause, and the questions moderators added."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.errors import InputError
from bot.prompts.bank import Question, channel_seed, check_question, cycle_order, question_key
from bot.store.db import Database, as_utc
from bot.store.outbox import enqueue
from bot.store.schema import prompt_channels, prompt_claims, prompt_questions

CUSTOM = "custom-"  # the id prefix of a question a moderator added
MAX_TRIES = 100  # optimistic-lock retries when two takers race for a channel's next question


# (platform, channel, upto) → the channel's reading's approved questions, or None for the shipped bank
ReadingBank = Callable[[str, str, int | None], Awaitable[list[Question] | None]]


class EmptyBank(InputError):
    def __init__(self) -> None:
        super().__init__(
            "There are no approved discussion questions for this channel's reading yet: a moderator can "
            "review the drafts with /prompt drafts (or choose a reading with /reading use ID), or add one "
            "with /prompt add <question>."
        )


class DuplicateQuestion(InputError):
    def __init__(self) -> None:
        super().__init__("That question is already in this channel's bank.")


@dataclass(frozen=True)
class BankState:
    cycle: int
    order: tuple[str, ...]
    position: int


def advance(state: BankState, bank_ids: list[str], seed: str) -> tuple[str, BankState]:
    """The next question of a channel and its state after taking it: the rest of this
    cycle (skipping questions no longer in the bank), else a new cycle in a new order."""
    valid = set(bank_ids)
    i = state.position
    while i < len(state.order) and state.order[i] not in valid:
        i += 1
    if i < len(state.order):
        return state.order[i], BankState(state.cycle, state.order, i + 1)
    cycle = state.cycle + 1
    order = cycle_order(bank_ids, seed, cycle, list(state.order) or None)
    return order[0], BankState(cycle, tuple(order), 1)


class PromptService:
    def __init__(
        self,
        db: Database,
        shipped: list[Question],
        *,
        rng: random.Random | None = None,
        reading_bank: ReadingBank | None = None,
    ) -> None:
        """``reading_bank``: the questions of each channel's current reading (default: the shipped bank)."""
        if not shipped:
            raise ValueError("the discussion bank is empty")
        self.db = db
        self.shipped = shipped
        self.reading_bank = reading_bank
        self._rng = rng or random.Random()

    def _insert(self):
        return pg_insert if self.db.dialect == "postgresql" else sqlite_insert

    @staticmethod
    def _channel(platform: str, channel: str) -> Any:
        return and_(prompt_channels.c.platform == platform, prompt_channels.c.channel_id == channel)

    @staticmethod
    def _claim_of(platform: str, channel: str) -> Any:
        return and_(prompt_claims.c.platform == platform, prompt_claims.c.channel_id == channel)

    # ------------------------------------------------------------------ claims

    async def claim(self, platform: str, channel: str, slot: datetime, *, status: str, by: str, now: datetime) -> bool:
        """Insert the slot's claim row; True only for the one caller whose insert made it."""
        statement = (
            self._insert()(prompt_claims)
            .values(
                platform=platform,
                channel_id=channel,
                slot_utc=slot.astimezone(UTC),
                status=status,
                claimed_by=by[:128],
                claimed_at=now,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["platform", "channel_id", "slot_utc"])
        )
        async with self.db.engine.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount == 1

    async def record(self, platform: str, channel: str, slot: datetime, **values: Any) -> None:
        """Update a claim: status, question_id, message_id, posted_at, attempts, error."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(prompt_claims)
                .where(and_(self._claim_of(platform, channel), prompt_claims.c.slot_utc == slot.astimezone(UTC)))
                .values(**values)
            )

    async def assign(self, platform: str, channel: str, slot: datetime, question: Question, *, now: datetime) -> int:
        """The claimed slot gets its question, and the post is owed (an outbox item, "prompt.post"), in one
        transaction: the id of the item."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(prompt_claims)
                .where(and_(self._claim_of(platform, channel), prompt_claims.c.slot_utc == slot.astimezone(UTC)))
                .values(question_id=question.id)
            )
            payload = {
                "channel": channel,
                "slot": slot.astimezone(UTC).isoformat(),
                "question": [question.id, question.question, question.section, question.passage],
            }
            return await enqueue(conn, "prompt.post", platform, payload, now=now, ref=f"prompt:{channel}")

    async def claims(
        self, platform: str, channel: str, start: datetime, end: datetime
    ) -> dict[datetime, dict[str, Any]]:
        """Claims of slots in (start, end], by slot."""
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(prompt_claims)
                    .where(
                        and_(
                            self._claim_of(platform, channel),
                            prompt_claims.c.slot_utc > start.astimezone(UTC),
                            prompt_claims.c.slot_utc <= end.astimezone(UTC),
                        )
                    )
                    .order_by(prompt_claims.c.slot_utc)
                )
            ).all()
        return {as_utc(r.slot_utc): dict(r._mapping) for r in rows}

    # ------------------------------------------------------------------ channel state

    async def _ensure(self, conn: AsyncConnection, platform: str, channel: str, now: datetime) -> None:
        await conn.execute(
            self._insert()(prompt_channels)
            .values(
                platform=platform,
                channel_id=channel,
                paused=False,
                cycle=0,
                question_order=[],
                position=0,
                version=0,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["platform", "channel_id"])
        )

    async def _state_row(self, conn: AsyncConnection, platform: str, channel: str, *, lock: bool = False) -> Any:
        """The channel's row; ``lock`` holds it until the transaction ends (PostgreSQL: other
        takers wait instead of losing the optimistic race; SQLite already has one writer)."""
        query = select(prompt_channels).where(self._channel(platform, channel))
        if lock:
            query = query.with_for_update()
        return (await conn.execute(query)).first()

    async def paused(self, platform: str, channel: str) -> bool:
        async with self.db.engine.connect() as conn:
            row = await self._state_row(conn, platform, channel)
        return bool(row and row.paused)

    async def set_paused(self, platform: str, channel: str, paused: bool, *, now: datetime) -> bool:
        """Pause or resume; False if it already was."""
        async with self.db.engine.begin() as conn:
            await self._ensure(conn, platform, channel, now)
            result = await conn.execute(
                update(prompt_channels)
                .where(and_(self._channel(platform, channel), prompt_channels.c.paused == (not paused)))
                .values(paused=paused, updated_at=now)
            )
        return result.rowcount == 1

    async def watched_until(self, platform: str, channel: str) -> datetime | None:
        async with self.db.engine.connect() as conn:
            row = await self._state_row(conn, platform, channel)
        return as_utc(row.watched_until) if row else None

    async def watched(self, platform: str, channel: str, now: datetime) -> None:
        """A scheduler has handled this channel's slots up to ``now``."""
        async with self.db.engine.begin() as conn:
            await self._ensure(conn, platform, channel, now)
            await conn.execute(
                update(prompt_channels)
                .where(
                    and_(
                        self._channel(platform, channel),
                        or_(prompt_channels.c.watched_until.is_(None), prompt_channels.c.watched_until < now),
                    )
                )
                .values(watched_until=now)
            )

    # ------------------------------------------------------------------ the bank

    async def custom_questions(self, platform: str, channel: str) -> list[Question]:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(prompt_questions)
                    .where(and_(prompt_questions.c.platform == platform, prompt_questions.c.channel_id == channel))
                    .order_by(prompt_questions.c.added_at, prompt_questions.c.id)
                )
            ).all()
        return [Question(r.id, r.question) for r in rows]

    async def bank(self, platform: str, channel: str, *, upto: int | None = None) -> list[Question]:
        """The channel's bank: its reading's approved questions (the shipped reading's curated ones; with
        ``upto``, only those of sections up to that order) and the ones its moderators added."""
        base = self.shipped
        if self.reading_bank is not None:
            found = await self.reading_bank(platform, channel, upto)
            if found is not None:
                base = found
        return [*base, *await self.custom_questions(platform, channel)]

    async def add_question(
        self, platform: str, channel: str, text: str, *, by: str, now: datetime, first: bool = False
    ) -> Question:
        """Add a moderator's question: it is posted after the questions moderators added before it
        that are still to come (``first``: before them), ahead of the rest of the bank."""
        text = check_question(text)
        key = question_key(text)
        if any(question_key(q.question) == key for q in await self.bank(platform, channel)):
            raise DuplicateQuestion()
        question = Question(f"{CUSTOM}{secrets.token_hex(6)}", text)
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(
                    prompt_questions.insert().values(
                        id=question.id,
                        platform=platform,
                        channel_id=channel,
                        question=text,
                        question_key=key,
                        added_by=by[:64],
                        added_at=now,
                    )
                )
        except IntegrityError:
            raise DuplicateQuestion() from None
        await self._join_cycle(platform, channel, question.id, now, first=first)
        return question

    async def _join_cycle(
        self, platform: str, channel: str, question_id: str, now: datetime, *, first: bool = False
    ) -> None:
        """A new question joins the questions still to come: first of all (``first``), or after
        the moderators' questions queued at their head. A channel that has not started its first
        cycle starts it now (the order a preview shows), so the question has a place in it."""
        for _ in range(MAX_TRIES):
            bank_ids = [q.id for q in await self.bank(platform, channel) if q.id != question_id]
            async with self.db.engine.begin() as conn:
                await self._ensure(conn, platform, channel, now)
                row = await self._state_row(conn, platform, channel, lock=True)
                cycle, position = row.cycle, row.position
                if cycle == 0:
                    cycle, position = 1, 0
                    order = cycle_order(bank_ids, channel_seed(platform, channel), 1)
                else:
                    order = [i for i in row.question_order if i != question_id]
                at = position
                while not first and at < len(order) and order[at].startswith(CUSTOM):
                    at += 1
                order.insert(at, question_id)
                result = await conn.execute(
                    update(prompt_channels)
                    .where(and_(self._channel(platform, channel), prompt_channels.c.version == row.version))
                    .values(
                        cycle=cycle, position=position, question_order=order, version=row.version + 1, updated_at=now
                    )
                )
                if result.rowcount == 1:
                    return
        raise RuntimeError(f"could not add a question to {platform} {channel}'s cycle: too much contention")

    async def take_next(self, platform: str, channel: str, *, now: datetime, upto: int | None = None) -> Question:
        """Use up the channel's next question (one taker wins each step, however many race)."""
        seed = channel_seed(platform, channel)
        for attempt in range(MAX_TRIES):
            if attempt:  # lost a race: back off a little (jittered) before reading again
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 25)))
            bank = await self.bank(platform, channel, upto=upto)
            by_id = {q.id: q for q in bank}
            if not by_id:
                raise EmptyBank()
            async with self.db.engine.begin() as conn:
                await self._ensure(conn, platform, channel, now)
                row = await self._state_row(conn, platform, channel, lock=True)
                state = BankState(row.cycle, tuple(row.question_order), row.position)
                picked, after = advance(state, list(by_id), seed)
                result = await conn.execute(
                    update(prompt_channels)
                    .where(and_(self._channel(platform, channel), prompt_channels.c.version == row.version))
                    .values(
                        cycle=after.cycle,
                        question_order=list(after.order),
                        position=after.position,
                        version=row.version + 1,
                        updated_at=now,
                    )
                )
                if result.rowcount == 1:
                    return by_id[picked]
        raise RuntimeError(f"could not take a question for {platform} {channel}: too much contention")

    async def restore(self, platform: str, channel: str, before: BankState, taken: BankState, *, now: datetime) -> bool:
        """Give a taken question back (its post failed), unless someone has moved on since."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(prompt_channels)
                .where(
                    and_(
                        self._channel(platform, channel),
                        prompt_channels.c.cycle == taken.cycle,
                        prompt_channels.c.position == taken.position,
                    )
                )
                .values(
                    cycle=before.cycle,
                    question_order=list(before.order),
                    position=before.position,
                    version=prompt_channels.c.version + 1,
                    updated_at=now,
                )
            )
        return result.rowcount == 1

    async def peek(
        self, platform: str, channel: str, count: int, *, upto: int | None = None
    ) -> list[tuple[int, Question]]:
        """The next ``count`` questions (with their cycle) as take_next would give them, using nothing up."""
        bank = await self.bank(platform, channel, upto=upto)
        by_id = {q.id: q for q in bank}
        if not by_id:
            return []
        async with self.db.engine.connect() as conn:
            row = await self._state_row(conn, platform, channel)
        state = BankState(row.cycle, tuple(row.question_order), row.position) if row else BankState(0, (), 0)
        seed = channel_seed(platform, channel)
        found = []
        for _ in range(count):
            picked, state = advance(state, list(by_id), seed)
            found.append((state.cycle, by_id[picked]))
        return found

    async def state(self, platform: str, channel: str) -> BankState | None:
        async with self.db.engine.connect() as conn:
            row = await self._state_row(conn, platform, channel)
        return BankState(row.cycle, tuple(row.question_order), row.position) if row else None
