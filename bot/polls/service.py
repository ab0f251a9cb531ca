"""Poll persistence and rules: create, vote (one per person), tally, close once."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.errors import InputError
from bot.polls.model import Poll, PollSpec, Tally, claim_key
from bot.store.db import Database, as_utc
from bot.store.outbox import enqueue
from bot.store.schema import polls, votes


class UnknownPoll(InputError):
    def __init__(self) -> None:
        super().__init__("This poll no longer exists.")


class PollClosed(InputError):
    def __init__(self) -> None:
        super().__init__("This poll is closed; votes are no longer counted.")


class VoteResult(enum.Enum):
    NEW = "new"
    CHANGED = "changed"
    SAME = "same"


def _poll(row: Any) -> Poll:
    m = row._mapping
    return Poll(
        id=m["id"],
        platform=m["platform"],
        channel_id=m["channel_id"],
        thread_id=m["thread_id"],
        message_id=m["message_id"],
        claim=m["claim"],
        claim_id=m["claim_id"],
        section=m["section"],
        passage=m["passage"],
        options=tuple(m["options"]),
        anonymous=bool(m["anonymous"]),
        hide_results=bool(m["hide_results"]),
        created_by=m["created_by"],
        created_at=as_utc(m["created_at"]),
        closes_at=as_utc(m["closes_at"]),
        closed_at=as_utc(m["closed_at"]),
        status=m["status"],
    )


class PollService:
    def __init__(self, db: Database, secret: bytes) -> None:
        self.db = db
        self._secret = secret

    def voter_key(self, poll: Poll, user_id: str) -> str:
        """Anonymous polls store a keyed hash (per poll, so votes can't be linked across
        polls either); open polls store the platform user id."""
        if not poll.anonymous:
            return user_id
        message = f"{poll.platform}:{poll.id}:{user_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def create(
        self, spec: PollSpec, *, platform: str, channel_id: str, thread_id: str | None, created_by: str, now: datetime
    ) -> Poll:
        row = {
            "id": secrets.token_hex(6),
            "platform": platform,
            "channel_id": channel_id,
            "thread_id": thread_id,
            "message_id": None,
            "claim": spec.claim,
            "claim_key": claim_key(spec.claim),
            "claim_id": spec.claim_id,
            "section": spec.section,
            "passage": spec.passage,
            "options": list(spec.options),
            "anonymous": spec.anonymous,
            "hide_results": spec.hide_results,
            "created_by": created_by,
            "created_at": now,
            "closes_at": now + spec.duration,
            "closed_at": None,
            "status": "open",
        }
        async with self.db.engine.begin() as conn:
            await conn.execute(polls.insert().values(**row))
        return _poll(_Row(row))

    async def delete(self, poll_id: str) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(votes.delete().where(votes.c.poll_id == poll_id))
            await conn.execute(polls.delete().where(polls.c.id == poll_id))

    async def set_message(self, poll_id: str, message_id: str) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(update(polls).where(polls.c.id == poll_id).values(message_id=message_id))

    async def get(self, poll_id: str) -> Poll | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(polls).where(polls.c.id == poll_id))).first()
        return _poll(row) if row else None

    async def vote(self, poll_id: str, user_id: str, option: int, *, now: datetime) -> tuple[Poll, VoteResult]:
        """Record (or move) a person's vote: one transaction, the database keeps one per person."""
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        async with self.db.engine.begin() as conn:
            row = (await conn.execute(select(polls).where(polls.c.id == poll_id))).first()
            if row is None:
                raise UnknownPoll()
            poll = _poll(row)
            if poll.status == "cancelled":
                raise InputError("This poll was cancelled; votes are no longer counted.")
            if not poll.is_open or now >= poll.closes_at:
                raise PollClosed()
            if not 0 <= option < len(poll.options):
                raise InputError("That isn't one of this poll's options.")
            voter = self.voter_key(poll, user_id)
            before = (
                await conn.execute(
                    select(votes.c.option).where(and_(votes.c.poll_id == poll_id, votes.c.voter == voter))
                )
            ).scalar_one_or_none()
            if before == option:
                return poll, VoteResult.SAME
            statement = insert(votes).values(poll_id=poll_id, voter=voter, option=option, voted_at=now)
            statement = statement.on_conflict_do_update(
                index_elements=[votes.c.poll_id, votes.c.voter],
                set_={"option": statement.excluded.option, "voted_at": statement.excluded.voted_at},
            )
            await conn.execute(statement)
        return poll, VoteResult.NEW if before is None else VoteResult.CHANGED

    async def tally(self, poll: Poll) -> Tally:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(votes.c.option, func.count()).where(votes.c.poll_id == poll.id).group_by(votes.c.option)
                )
            ).all()
        counts = [0] * len(poll.options)
        for option, count in rows:
            if 0 <= option < len(counts):
                counts[option] = int(count)
        return Tally(tuple(counts))

    async def close(self, poll_id: str, *, now: datetime) -> list[int] | None:
        """Close an open poll; None unless this caller closed it. The closer's transaction also
        records what must now be told (the final card, when it was posted, and the results) in the
        outbox: the ids of those items, for :meth:`bot.store.outbox.DurableOutbox.deliver_now`."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(polls)
                .where(and_(polls.c.id == poll_id, polls.c.status == "open"))
                .values(status="closed", closed_at=now)
            )
            if result.rowcount != 1:
                return None
            row = (await conn.execute(select(polls.c.platform, polls.c.message_id).where(polls.c.id == poll_id))).one()
            items = []
            if row.message_id:
                items.append(await enqueue(conn, "poll.card", row.platform, {"poll": poll_id}, now=now, ref=poll_id))
            items.append(await enqueue(conn, "poll.results", row.platform, {"poll": poll_id}, now=now, ref=poll_id))
        return items

    async def cancel(self, poll_id: str, *, now: datetime) -> list[int] | None:
        """Cancel an open poll (no results); None unless this caller cancelled it. Its transaction
        also records the cancelled card in the outbox (when a card was posted): those items' ids."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(polls)
                .where(and_(polls.c.id == poll_id, polls.c.status == "open"))
                .values(status="cancelled", closed_at=now)
            )
            if result.rowcount != 1:
                return None
            row = (await conn.execute(select(polls.c.platform, polls.c.message_id).where(polls.c.id == poll_id))).one()
            if not row.message_id:
                return []
            return [await enqueue(conn, "poll.cancelled", row.platform, {"poll": poll_id}, now=now, ref=poll_id)]

    async def due(self, now: datetime) -> list[Poll]:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(polls)
                    .where(and_(polls.c.status == "open", polls.c.closes_at <= now))
                    .order_by(polls.c.closes_at)
                )
            ).all()
        return [_poll(r) for r in rows]

    async def next_deadline(self) -> datetime | None:
        async with self.db.engine.connect() as conn:
            value = (await conn.execute(select(func.min(polls.c.closes_at)).where(polls.c.status == "open"))).scalar()
        return as_utc(value)

    async def latest_open(self, platform: str, channel_id: str) -> Poll | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(polls)
                    .where(
                        and_(polls.c.platform == platform, polls.c.channel_id == channel_id, polls.c.status == "open")
                    )
                    .order_by(polls.c.created_at.desc())
                    .limit(1)
                )
            ).first()
        return _poll(row) if row else None

    async def previous(self, poll: Poll) -> Poll | None:
        """The last closed poll of the same claim in the same channel, before this one."""
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(polls)
                    .where(
                        and_(
                            polls.c.platform == poll.platform,
                            polls.c.channel_id == poll.channel_id,
                            polls.c.claim_key == claim_key(poll.claim),
                            polls.c.status == "closed",
                            polls.c.id != poll.id,
                            polls.c.created_at < poll.created_at,
                        )
                    )
                    .order_by(polls.c.created_at.desc())
                    .limit(1)
                )
            ).first()
        return _poll(row) if row else None

    async def polled_claim_ids(self, platform: str, channel_id: str) -> set[str]:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(polls.c.claim_id).where(
                        and_(
                            polls.c.platform == platform,
                            polls.c.channel_id == channel_id,
                            polls.c.claim_id.is_not(None),
                            polls.c.status != "cancelled",  # a cancelled poll's claim can be polled again
                        )
                    )
                )
            ).all()
        return {r[0] for r in rows}

    async def all(self) -> list[Poll]:
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(select(polls).order_by(polls.c.created_at))).all()
        return [_poll(r) for r in rows]

    async def votes_of(self, poll: Poll) -> Sequence[tuple[str, int, datetime]]:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(votes.c.voter, votes.c.option, votes.c.voted_at)
                    .where(votes.c.poll_id == poll.id)
                    .order_by(votes.c.voted_at)
                )
            ).all()
        return [(r[0], int(r[1]), as_utc(r[2])) for r in rows]


class _Row:
    """A dict posing as a result row, so a freshly created poll reads like a stored one."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping
