"""The review queue in the database: items (a drafted question or claim, later a member's suggestion)
for a reading, each pending, approved or rejected. The database decides each transition: an
approve and a reject racing for one item, one wins and the other is told what happened."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.exc import IntegrityError

from bot.errors import InputError
from bot.review.checks import CHECKS, text_key
from bot.store.db import Database, as_utc
from bot.store.schema import review_items

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATES = (PENDING, APPROVED, REJECTED)
KINDS = ("prompt", "claim")
MADE = ("drafted", "llm")  # what the drafter makes (replaced when the reading is replaced)
SUGGESTED = "suggested"  # a member's /prompt suggest
SUGGESTIONS_PER_HOUR = 5


@dataclass(frozen=True)
class NewItem:
    kind: str  # prompt | claim
    text: str
    section: str
    order: int  # the section's index among the reading's sections
    passage: str
    origin: str = "drafted"


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    reading_id: str
    text: str
    section: str
    order: int
    passage: str
    origin: str
    state: str
    created_by: str
    created_at: datetime
    original: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None

    def to_json(self) -> dict[str, object]:
        key = "question" if self.kind == "prompt" else "claim"
        return {
            "id": self.id,
            key: self.text,
            "section": self.section,
            "section_order": self.order,
            "passage": self.passage,
            "state": self.state,
            "origin": self.origin,
        }


class UnknownItem(InputError):
    def __init__(self, item_id: str) -> None:
        shown = item_id if len(item_id) <= 40 else item_id[:39] + "…"
        super().__init__(f"There is no draft {shown!r}: see the list with /prompt drafts or /poll drafts.")


class AlreadyDecided(InputError):
    pass


def _item(row: object) -> Item:
    m = row._mapping  # type: ignore[attr-defined]
    return Item(
        m["id"],
        m["kind"],
        m["reading_id"],
        m["text"],
        m["section"],
        int(m["section_order"]),
        m["passage"],
        m["origin"],
        m["state"],
        m["created_by"],
        as_utc(m["created_at"]),
        m["original"],
        m["decided_by"],
        as_utc(m["decided_at"]) if m["decided_at"] is not None else None,
    )


def new_id() -> str:
    return f"d{secrets.token_hex(5)}"


class ReviewQueue:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace_made(
        self, reading_id: str, items: Sequence[NewItem], *, by: str, now: datetime, approve: bool
    ) -> list[Item]:
        """The drafter's items for a reading, instead of any it made before (a replaced reading is
        drafted again). Items of other origins (members' suggestions) stay. Duplicates are dropped."""
        state = APPROVED if approve else PENDING
        seen: set[tuple[str, str]] = set()
        rows = []
        for position, item in enumerate(items):
            key = (item.kind, text_key(item.text))
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                {
                    "id": new_id(),
                    "kind": item.kind,
                    "reading_id": reading_id,
                    "text": item.text,
                    "text_key": key[1],
                    "section": item.section,
                    "section_order": item.order,
                    "passage": item.passage,
                    "origin": item.origin,
                    "state": state,
                    "position": position,
                    "created_by": by[:64],
                    "created_at": now,
                    "decided_by": by[:64] if approve else None,
                    "decided_at": now if approve else None,
                }
            )
        async with self.db.engine.begin() as conn:
            await conn.execute(
                delete(review_items).where(
                    and_(review_items.c.reading_id == reading_id, review_items.c.origin.in_(MADE))
                )
            )
            taken = {
                (r.kind, r.text_key)
                for r in await conn.execute(
                    select(review_items.c.kind, review_items.c.text_key).where(review_items.c.reading_id == reading_id)
                )
            }
            rows = [r for r in rows if (r["kind"], r["text_key"]) not in taken]
            if rows:
                await conn.execute(review_items.insert(), rows)
        return await self.items(reading_id)

    async def suggest(
        self, reading_id: str, kind: str, text: str, *, by: str, now: datetime, per_hour: int = SUGGESTIONS_PER_HOUR
    ) -> Item:
        """A member's suggestion (checked like a draft), pending review in the same queue; one person
        may make ``per_hour`` an hour, and a text already in the queue is refused."""
        checked = CHECKS[kind](text)
        key = text_key(checked)
        async with self.db.engine.begin() as conn:
            recent = (
                await conn.execute(
                    select(review_items.c.id).where(
                        and_(
                            review_items.c.origin == SUGGESTED,
                            review_items.c.created_by == by[:64],
                            review_items.c.created_at > now - timedelta(hours=1),
                        )
                    )
                )
            ).all()
            if len(recent) >= per_hour:
                raise InputError(f"You have made {per_hour} suggestions in the last hour; please try again later.")
            taken = await conn.execute(
                select(review_items.c.state).where(
                    and_(
                        review_items.c.reading_id == reading_id,
                        review_items.c.kind == kind,
                        review_items.c.text_key == key,
                    )
                )
            )
            if taken.first() is not None:
                raise InputError("That question is already in this reading's bank or waiting for review.")
            item_id = new_id()
            await conn.execute(
                review_items.insert().values(
                    id=item_id,
                    kind=kind,
                    reading_id=reading_id,
                    text=checked,
                    text_key=key,
                    section="",  # a member's own question: no section of the reading, so within every bound
                    section_order=-1,
                    passage="",
                    origin=SUGGESTED,
                    state=PENDING,
                    position=0,
                    created_by=by[:64],
                    created_at=now,
                )
            )
        item = await self.get(item_id)
        assert item is not None
        return item

    async def items(
        self, reading_id: str | None = None, *, kind: str | None = None, state: str | None = None
    ) -> list[Item]:
        """Items in reading order: by reading, then section, then as drafted."""
        query = select(review_items)
        if reading_id is not None:
            query = query.where(review_items.c.reading_id == reading_id)
        if kind is not None:
            query = query.where(review_items.c.kind == kind)
        if state is not None:
            query = query.where(review_items.c.state == state)
        query = query.order_by(
            review_items.c.reading_id, review_items.c.section_order, review_items.c.position, review_items.c.id
        )
        async with self.db.engine.connect() as conn:
            return [_item(r) for r in (await conn.execute(query)).all()]

    async def approved(self, kind: str, reading_id: str, *, upto: int | None = None) -> list[Item]:
        """The reading's approved items of ``kind``; with ``upto``, only those from sections up to and
        including that section order (what a group that has read so far may see)."""
        found = await self.items(reading_id, kind=kind, state=APPROVED)
        return [i for i in found if upto is None or i.order <= upto]

    async def get(self, item_id: str) -> Item | None:
        async with self.db.engine.connect() as conn:
            row = (await conn.execute(select(review_items).where(review_items.c.id == item_id.strip()))).first()
        return None if row is None else _item(row)

    async def _known(self, item_id: str, kind: str | None) -> Item:
        item = await self.get(item_id)
        if item is None or (kind is not None and item.kind != kind):
            raise UnknownItem(item_id)
        return item

    async def decide(self, item_id: str, state: str, *, by: str, now: datetime, kind: str | None = None) -> Item:
        """Approve or reject a pending item (an approved one can be rejected later, a rejected one is
        final): AlreadyDecided says what happened to it otherwise."""
        assert state in (APPROVED, REJECTED)
        item = await self._known(item_id, kind)
        allowed = (PENDING,) if state == APPROVED else (PENDING, APPROVED)
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(review_items)
                .where(and_(review_items.c.id == item.id, review_items.c.state.in_(allowed)))
                .values(state=state, decided_by=by[:64], decided_at=now)
            )
        if result.rowcount != 1:
            now_item = await self._known(item_id, kind)
            verb = "approved" if now_item.state == APPROVED else "rejected"
            who = f" by {now_item.decided_by}" if now_item.decided_by else ""
            raise AlreadyDecided(f"That draft was already {verb}{who}; nothing changed.")
        return await self._known(item_id, kind)

    async def edit(
        self,
        item_id: str,
        text: str,
        *,
        by: str,
        now: datetime,
        kind: str | None = None,
        check: Callable[[str], str] | None = None,
    ) -> Item:
        """A moderator's new wording, checked like any draft (length, no mass mention, a question ends
        with "?", a claim doesn't); a rejected item can't be edited. The item keeps its state."""
        item = await self._known(item_id, kind)
        if item.state == REJECTED:
            raise AlreadyDecided("That draft was rejected; nothing changed.")
        cleaned = (check or CHECKS[item.kind])(text)
        key = text_key(cleaned)
        try:
            async with self.db.engine.begin() as conn:
                result = await conn.execute(
                    update(review_items)
                    .where(and_(review_items.c.id == item.id, review_items.c.state != REJECTED))
                    .values(
                        text=cleaned,
                        text_key=key,
                        original=item.original if item.original is not None else item.text,
                        decided_by=by[:64] if item.state == APPROVED else item.decided_by,
                    )
                )
        except IntegrityError:
            raise InputError("The reading already has that text among its drafts; nothing changed.") from None
        if result.rowcount != 1:
            raise AlreadyDecided("That draft was rejected meanwhile; nothing changed.")
        return await self._known(item_id, kind)

    async def remove_reading(self, reading_id: str) -> int:
        async with self.db.engine.begin() as conn:
            result = await conn.execute(delete(review_items).where(review_items.c.reading_id == reading_id))
        return int(result.rowcount or 0)
