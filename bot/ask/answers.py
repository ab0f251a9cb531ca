"""The answers readbot gave in chat, kept so members can rate them (👍/👎, "what was wrong?"), share a
private one with the channel, be held to a rate limit, and moderators can see what the group asked.

People are never stored by their platform id: the asker is a keyed hash of the person (the same for
every question, so a rate limit can count them), a voter a keyed hash of the person *and the answer*
(so votes can't be linked across answers). The key is derived from readbot's secret
(``READBOT_POLL_SECRET`` or the one kept in the data dir).

Rate limits are a sliding window over this table: a question is admitted, and its row written, in one
transaction that first counts the person's and the channel's questions in the last minute, so the
database decides (SQLite's write lock; on PostgreSQL a transaction-scoped advisory lock per channel)
and replicas sharing a database share the limits. The clock is the app's (injectable).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.events import Citation
from bot.errors import InputError
from bot.store.db import Database, as_utc
from bot.store.schema import answer_feedback, asked_questions

VERDICTS = ("up", "down")
WINDOW = timedelta(minutes=1)
NOTE_LIMIT = 500  # characters of "what was wrong?"


class UnknownAnswer(InputError):
    def __init__(self) -> None:
        super().__init__("That answer is no longer stored, so it can't be rated or shared.")


class RateLimited(InputError):
    def __init__(self, message: str, scope: str, retry_after: int) -> None:
        super().__init__(message)
        self.scope = scope  # "user" | "channel"
        self.retry_after = retry_after


class VoteResult(enum.Enum):
    NEW = "new"
    CHANGED = "changed"
    SAME = "same"


@dataclass(frozen=True)
class Limits:
    """Questions allowed per person and per channel in a sliding minute (0: no limit)."""

    per_user: int = 10
    per_channel: int = 60


@dataclass(frozen=True)
class StoredAnswer:
    id: str
    platform: str
    channel_id: str
    asker: str
    question: str
    answer: str
    citations: tuple[Citation, ...]
    grounded: bool
    status: str
    private: bool
    asked_at: datetime
    shared_at: datetime | None

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(c.section for c in self.citations if c.section))


def _citations(raw: Any) -> tuple[Citation, ...]:
    found = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict):
            found.append(
                Citation(
                    str(item.get("section") or ""),
                    str(item.get("document") or ""),
                    str(item.get("reading") or ""),
                    str(item.get("text") or ""),
                )
            )
    return tuple(found)


def citations_json(citations: Sequence[Citation]) -> list[dict[str, str]]:
    return [{"section": c.section, "document": c.document, "reading": c.reading, "text": c.text} for c in citations]


def _stored(row: Any) -> StoredAnswer:
    m = row._mapping
    return StoredAnswer(
        id=m["id"],
        platform=m["platform"],
        channel_id=m["channel_id"],
        asker=m["asker"],
        question=m["question"],
        answer=m["answer"],
        citations=_citations(m["citations"]),
        grounded=bool(m["grounded"]),
        status=m["status"],
        private=bool(m["private"]),
        asked_at=as_utc(m["asked_at"]),
        shared_at=as_utc(m["shared_at"]),
    )


def _wait(oldest: datetime, now: datetime) -> int:
    """Whole seconds until ``oldest`` leaves the window (at least 1)."""
    return max(1, math.ceil((oldest + WINDOW - now).total_seconds()))


def _seconds(n: int) -> str:
    return "1 second" if n == 1 else f"{n} seconds"


class AnswerLog:
    def __init__(self, db: Database, secret: bytes) -> None:
        self.db = db
        self._key = hmac.new(secret, b"readbot answer feedback", hashlib.sha256).digest()

    def _hash(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()[:48]

    def person_key(self, platform: str, user_id: str) -> str:
        return self._hash(f"person:{platform}:{user_id}")

    def voter_key(self, answer_id: str, platform: str, user_id: str) -> str:
        return self._hash(f"voter:{answer_id}:{platform}:{user_id}")

    # ------------------------------------------------------------------ asking

    async def admit(
        self,
        platform: str,
        channel_id: str,
        user_id: str,
        question: str,
        *,
        now: datetime,
        private: bool = False,
        limits: Limits | None = None,
    ) -> str:
        """Record a question being answered and return its answer id; with ``limits``, first check the
        person's and the channel's questions in the last minute (raises :class:`RateLimited`)."""
        asker = self.person_key(platform, user_id)
        answer_id = secrets.token_hex(8)
        async with self.db.engine.begin() as conn:
            if limits is not None:
                if self.db.dialect == "postgresql":  # one admission at a time per channel
                    lock = int.from_bytes(hashlib.sha256(f"{platform}:{channel_id}".encode()).digest()[:8], "big")
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock - (1 << 63)})
                await self._check(conn, limits, platform, channel_id, asker, now)
            await conn.execute(
                asked_questions.insert().values(
                    id=answer_id,
                    platform=platform,
                    channel_id=channel_id,
                    asker=asker,
                    question=question,
                    answer="",
                    citations=[],
                    sections=[],
                    grounded=False,
                    status="pending",
                    private=private,
                    asked_at=now,
                    shared_at=None,
                )
            )
        return answer_id

    async def _check(
        self, conn: AsyncConnection, limits: Limits, platform: str, channel_id: str, asker: str, now: datetime
    ) -> None:
        since = now - WINDOW
        q = asked_questions.c
        scopes = (
            ("user", limits.per_user, q.asker == asker),
            ("channel", limits.per_channel, and_(q.platform == platform, q.channel_id == channel_id)),
        )
        for scope, limit, who in scopes:
            if limit <= 0:
                continue
            recent = select(q.asked_at).where(and_(who, q.asked_at > since)).order_by(q.asked_at.desc())
            # the limit-th newest question in the window: when it leaves the window, one more may be asked
            nth = (await conn.execute(recent.offset(limit - 1).limit(1))).scalar_one_or_none()
            if nth is None:
                continue
            wait = _seconds(_wait(as_utc(nth), now))
            if scope == "user":
                message = f"You've asked {limit} questions in the last minute; please try again in {wait}."
            else:
                message = f"This channel has asked {limit} questions in the last minute; please try again in {wait}."
            raise RateLimited(message, scope, _wait(as_utc(nth), now))

    async def finish(
        self, answer_id: str, answer: str, citations: Sequence[Citation], *, grounded: bool, status: str
    ) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(asked_questions)
                .where(asked_questions.c.id == answer_id)
                .values(
                    answer=answer,
                    citations=citations_json(citations),
                    sections=list(dict.fromkeys(c.section for c in citations if c.section)),
                    grounded=grounded,
                    status=status,
                )
            )

    async def failed(self, answer_id: str) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(update(asked_questions).where(asked_questions.c.id == answer_id).values(status="failed"))

    async def get(self, answer_id: str) -> StoredAnswer | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(asked_questions).where(asked_questions.c.id == answer_id))).first()
        return _stored(row) if row else None

    async def delete(self, answer_id: str) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(delete(asked_questions).where(asked_questions.c.id == answer_id))

    async def mark_shared(self, answer_id: str, now: datetime) -> bool:
        """True for the one caller that marks the answer shared."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(asked_questions)
                .where(and_(asked_questions.c.id == answer_id, asked_questions.c.shared_at.is_(None)))
                .values(shared_at=now)
            )
        return result.rowcount == 1

    async def unshare(self, answer_id: str) -> None:
        """Posting the shared answer failed: it may be shared again."""
        async with self.db.engine.begin() as conn:
            await conn.execute(update(asked_questions).where(asked_questions.c.id == answer_id).values(shared_at=None))

    # ------------------------------------------------------------------ feedback

    async def vote(
        self, answer_id: str, platform: str, user_id: str, verdict: str, *, now: datetime
    ) -> tuple[VoteResult, str]:
        """Record (or change) a person's verdict on an answer; returns the outcome and the note the
        person gave before (kept when the verdict stays 👎, dropped when it turns 👍)."""
        if verdict not in VERDICTS:
            raise InputError("That isn't a feedback button readbot knows.")
        voter = self.voter_key(answer_id, platform, user_id)
        insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
        f = answer_feedback.c
        async with self.db.engine.begin() as conn:
            exists = (
                await conn.execute(select(asked_questions.c.id).where(asked_questions.c.id == answer_id))
            ).scalar_one_or_none()
            if exists is None:
                raise UnknownAnswer()
            before = (
                await conn.execute(select(f.verdict, f.note).where(and_(f.answer_id == answer_id, f.voter == voter)))
            ).first()
            if before is not None and before[0] == verdict:
                return VoteResult.SAME, str(before[1] or "")
            note = str(before[1] or "") if before is not None and verdict == "down" else ""
            statement = insert(answer_feedback).values(
                answer_id=answer_id, voter=voter, verdict=verdict, note=note, at=now
            )
            statement = statement.on_conflict_do_update(
                index_elements=[f.answer_id, f.voter],
                set_={
                    "verdict": statement.excluded.verdict,
                    "note": statement.excluded.note,
                    "at": statement.excluded.at,
                },
            )
            await conn.execute(statement)
        return (VoteResult.NEW if before is None else VoteResult.CHANGED), note

    async def add_note(self, answer_id: str, platform: str, user_id: str, note: str, *, now: datetime) -> None:
        """The "what was wrong?" of a 👎: once per person and answer."""
        note = note.strip()
        if not note:
            raise InputError("The note was empty, so nothing was saved; your 👎 still counts.")
        if len(note) > NOTE_LIMIT:
            raise InputError(f"Please keep the note under {NOTE_LIMIT} characters; nothing was saved.")
        voter = self.voter_key(answer_id, platform, user_id)
        f = answer_feedback.c
        async with self.db.engine.begin() as conn:
            if (
                await conn.execute(select(asked_questions.c.id).where(asked_questions.c.id == answer_id))
            ).scalar_one_or_none() is None:
                raise UnknownAnswer()
            row = (
                await conn.execute(select(f.verdict, f.note).where(and_(f.answer_id == answer_id, f.voter == voter)))
            ).first()
            if row is None or row[0] != "down":
                raise InputError("Mark the answer 👎 first; nothing was saved.")
            if row[1]:
                raise InputError("You already said what was wrong with this answer; nothing was changed.")
            await conn.execute(
                update(answer_feedback)
                .where(and_(f.answer_id == answer_id, f.voter == voter))
                .values(note=note, at=now)
            )

    async def note_of(self, answer_id: str, platform: str, user_id: str) -> str | None:
        """The person's note on an answer ("" for a 👎 without one), None without a 👎."""
        voter = self.voter_key(answer_id, platform, user_id)
        f = answer_feedback.c
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(select(f.verdict, f.note).where(and_(f.answer_id == answer_id, f.voter == voter)))
            ).first()
        return None if row is None or row[0] != "down" else str(row[1] or "")

    async def feedback_rows(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Every verdict with its answer, oldest first (the export)."""
        q, f = asked_questions.c, answer_feedback.c
        query = (
            select(q.question, f.verdict, q.citations, q.grounded, f.note, f.at)
            .select_from(answer_feedback.join(asked_questions, f.answer_id == q.id))
            .order_by(f.at, q.id)
        )
        if since is not None:
            query = query.where(f.at >= since)
        async with self.db.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "question": r[0],
                "verdict": r[1],
                "sections": list(dict.fromkeys(c.section for c in _citations(r[2]) if c.section)),
                "grounded": bool(r[3]),
                "note": r[4] or "",
                "at": as_utc(r[5]).isoformat(),
            }
            for r in rows
        ]

    async def asked_since(self, since: datetime) -> list[tuple[str, str, list[str]]]:
        """(question, status, cited sections) of the questions asked since ``since`` (answered or
        declined; a declined one cites nothing, so its sections aren't read)."""
        q = asked_questions.c
        async with self.db.engine.connect() as conn:
            answered = (
                await conn.execute(
                    select(q.question, q.sections).where(and_(q.asked_at >= since, q.status == "answered"))
                )
            ).all()
            declined = (
                await conn.execute(select(q.question).where(and_(q.asked_at >= since, q.status == "declined")))
            ).all()
        return [(r[0], "answered", list(r[1] or [])) for r in answered] + [(r[0], "declined", []) for r in declined]

    async def verdicts_since(self, since: datetime) -> dict[str, int]:
        q, f = asked_questions.c, answer_feedback.c
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(f.verdict, func.count())
                    .select_from(answer_feedback.join(asked_questions, f.answer_id == q.id))
                    .where(q.asked_at >= since)
                    .group_by(f.verdict)
                )
            ).all()
        counts = {"up": 0, "down": 0}
        counts.update({str(v): int(n) for v, n in rows if v in counts})
        return counts

    async def marked_down_since(self, since: datetime, limit: int = 20) -> list[dict[str, Any]]:
        """The answers marked 👎 (newest first): question, sections, how many 👎, the notes."""
        q, f = asked_questions.c, answer_feedback.c
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(q.id, q.question, q.citations, f.note, f.at)
                    .select_from(answer_feedback.join(asked_questions, f.answer_id == q.id))
                    .where(and_(q.asked_at >= since, f.verdict == "down"))
                    .order_by(f.at.desc())
                )
            ).all()
        found: dict[str, dict[str, Any]] = {}
        for answer_id, question, citations, note, _ in rows:
            entry = found.get(answer_id)
            if entry is None:
                if len(found) == limit:
                    continue
                sections = list(dict.fromkeys(c.section for c in _citations(citations) if c.section))
                entry = found[answer_id] = {"question": question, "sections": sections, "down": 0, "notes": []}
            entry["down"] += 1
            if note:
                entry["notes"].append(note)
        return list(found.values())
