"""The durable outbox: what readbot has decided and must still tell a platform.

A feature records an item (:func:`enqueue`) in the same transaction as its decision (closing a
poll records the final card edit and the results post), so the decision and the duty to announce
it are stored together or not at all. :class:`DurableOutbox` delivers the items:

* at once, when the deciding code asks (:meth:`DurableOutbox.deliver_now`): a healthy platform
  sees no delay;
* otherwise by its worker (:meth:`DurableOutbox.run`): a failed item is tried again after 1 s,
  2 s, 4 s, … up to 5 minutes between tries, or after the platform's ``Retry-After`` when it gave
  one; items still pending when readbot stopped are picked up when it starts again;
* after 24 hours of failures (or an error retrying can't fix: the channel is gone) the item is
  marked ``failed``, logged as an ERROR and counted (``readbot_outbox_failed_total``).

Delivery is at least once: an item is marked delivered right after the platform accepted it, so
a repeat needs a crash between the two. Several processes may share the database: a process claims
an item (``claimed_until``) before delivering it, and only items of the platforms it runs.
Time comes from the injectable clock, so tests move the backoff by hand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.core.events import MessageRef, Reply, Where
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox, reply_from_json, reply_to_json, where_from_json, where_to_json
from bot.store.db import Database, as_utc
from bot.store.schema import outbox_items

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the first retry
MAX_DELAY = 300.0  # never more than 5 minutes between tries
GIVE_UP_AFTER = timedelta(hours=24)
CLAIM_FOR = timedelta(minutes=2)  # a delivery in flight; another process may take it after that
IDLE_WAIT = 5.0  # the worker looks again at least this often (items of other processes)
BATCH = 50
KEEP_DELIVERED = timedelta(days=7)  # delivered items are deleted after this (failed ones stay, visible)
PRUNE_EVERY = timedelta(hours=1)

Deliver = Callable[["Item"], Awaitable[None]]
GivenUp = Callable[["Item", str], Awaitable[None]]


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    platform: str
    ref: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Backlog:
    pending: int
    failed: int
    oldest: datetime | None  # the oldest pending item's decision


def backoff(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: 1, 2, 4, … capped at 5 minutes."""
    return min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, attempts - 1))


async def enqueue(
    conn: AsyncConnection, kind: str, platform: str, payload: dict[str, Any], *, now: datetime, ref: str = ""
) -> int:
    """Record an item inside the caller's transaction; its id, for :meth:`DurableOutbox.deliver_now`."""
    result = await conn.execute(
        outbox_items.insert().values(
            kind=kind,
            platform=platform,
            ref=ref,
            payload=payload,
            status="pending",
            attempts=0,
            created_at=now,
            next_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def owed(db: Database, refs: Sequence[str]) -> dict[str, str]:
    """ref → "pending" or "failed", for the refs (poll ids) with undelivered items; failed wins."""
    if not refs:
        return {}
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox_items.c.ref, outbox_items.c.status).where(
                    and_(outbox_items.c.ref.in_(list(refs)), outbox_items.c.status.in_(("pending", "failed")))
                )
            )
        ).all()
    found: dict[str, str] = {}
    for ref, status in rows:
        if found.get(ref) != "failed":
            found[ref] = status
    return found


def _item(row: Any) -> Item:
    m = row._mapping
    return Item(
        m["id"], m["kind"], m["platform"], m["ref"], dict(m["payload"]), int(m["attempts"]), as_utc(m["created_at"])
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:1000]


class DurableOutbox:
    def __init__(self, db: Database, router: Outbox, clock: Clock, *, metrics: Metrics = NO_METRICS) -> None:
        self.db = db
        self.router = router
        self.clock = clock
        self.metrics = metrics
        self._deliverers: dict[str, Deliver] = {"send": self._send, "update": self._update}
        self._given_up: dict[str, GivenUp] = {}
        self._wake = asyncio.Event()
        self._unrecorded: dict[int, datetime] = {}  # delivered, but the database could not be told yet
        self._busy: set[int] = set()  # being delivered by this process
        self._outage_logged = False
        self._pruned: datetime | None = None

    def register(self, kind: str, deliver: Deliver, *, given_up: GivenUp | None = None) -> None:
        """What delivers items of ``kind`` (a feature's renderer; ``send`` and ``update`` are built in),
        and what records that one was given up (``given_up(item, error)``), if the feature keeps a state."""
        self._deliverers[kind] = deliver
        if given_up is not None:
            self._given_up[kind] = given_up

    # ------------------------------------------------------------------ built-in kinds

    async def _send(self, item: Item) -> None:
        await self.router.send(where_from_json(item.payload["where"]), reply_from_json(item.payload["reply"]))

    async def _update(self, item: Item) -> None:
        ref = MessageRef(where_from_json(item.payload["where"]), str(item.payload["message_id"]))
        await self.router.update(ref, reply_from_json(item.payload["reply"]))

    async def owe(self, where: Where, reply: Reply, error: BaseException, *, ref: str = "") -> int:
        """A post that failed on its first try (an answer to a question the platform was already told
        about): owed from now on, tried again after the first backoff (or the platform's Retry-After).
        An error retrying can't fix (readbot isn't in that channel) is raised again: the caller's usual
        handling tells the person."""
        if self.router.permanent(where.channel.platform, error):
            raise error
        now = self.clock.now()
        asked = self.router.retry_after(where.channel.platform, error)
        delay = asked if asked is not None else backoff(1)
        async with self.db.engine.begin() as conn:
            item = await enqueue(
                conn,
                "send",
                where.channel.platform,
                {"where": where_to_json(where), "reply": reply_to_json(reply)},
                now=now,
                ref=ref,
            )
            await conn.execute(
                update(outbox_items)
                .where(outbox_items.c.id == item)
                .values(attempts=1, last_error=_describe(error), next_at=now + timedelta(seconds=delay))
            )
        log.warning(
            "a post to %s %s failed (%s); owed, trying again in %gs",
            where.channel.platform,
            where.channel.id,
            _describe(error),
            delay,
        )
        self._wake.set()
        return item

    # ------------------------------------------------------------------ delivering

    async def deliver_now(self, ids: Sequence[int]) -> bool:
        """Try these items once, in order, right away; True if every one was delivered. Failures are
        left to the worker (woken), with their backoff."""
        if not ids:
            return True
        try:
            async with self.db.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(outbox_items).where(outbox_items.c.id.in_(ids)).order_by(outbox_items.c.id)
                    )
                ).all()
            delivered = True
            for item in map(_item, rows):
                delivered = await self._attempt(item) and delivered
        except Exception as exc:  # the database went away after the decision: the worker delivers later
            log.warning("outbox: items %s left to the worker (%s)", list(ids), _describe(exc))
            delivered = False
        if not delivered:
            self._wake.set()
        await self._report_pending()
        return delivered

    async def flush(self) -> int:
        """One pass of the worker: every due item of this process's platforms; how many were delivered."""
        await self._record_unrecorded()
        now = self.clock.now()
        platforms = self.router.platforms
        if not platforms:
            return 0
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox_items)
                    .where(
                        and_(
                            outbox_items.c.status == "pending",
                            outbox_items.c.next_at <= now,
                            outbox_items.c.platform.in_(platforms),
                            or_(outbox_items.c.claimed_until.is_(None), outbox_items.c.claimed_until < now),
                        )
                    )
                    .order_by(outbox_items.c.id)
                    .limit(BATCH)
                )
            ).all()
        delivered = 0
        held: set[str] = set()  # a platform that asked to wait gets nothing else this pass
        for item in map(_item, rows):
            if item.platform in held or item.id in self._unrecorded:
                continue
            if await self._attempt(item):
                delivered += 1
            else:
                held.add(item.platform)
        await self._report_pending()
        return delivered

    async def _claim(self, item: Item, now: datetime) -> bool:
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(outbox_items)
                .where(
                    and_(
                        outbox_items.c.id == item.id,
                        outbox_items.c.status == "pending",
                        or_(outbox_items.c.claimed_until.is_(None), outbox_items.c.claimed_until < now),
                    )
                )
                .values(claimed_until=now + CLAIM_FOR)
            )
        return result.rowcount == 1

    async def _attempt(self, item: Item) -> bool:
        """Deliver one item (if no one else is); True once it is delivered."""
        if item.id in self._busy or item.id in self._unrecorded:
            return False
        if not self.router.runs(item.platform):
            return False
        self._busy.add(item.id)
        try:
            if not await self._claim(item, self.clock.now()):
                return False
            deliver = self._deliverers.get(item.kind)
            try:
                if deliver is None:
                    raise LookupError(f"nothing in this process delivers outbox items of kind {item.kind!r}")
                await deliver(item)
            except asyncio.CancelledError:
                await self._release(item)
                raise
            except Exception as exc:
                await self._failed(item, exc)
                return False
            await self._delivered(item)
            return True
        finally:
            self._busy.discard(item.id)

    async def _release(self, item: Item) -> None:
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(update(outbox_items).where(outbox_items.c.id == item.id).values(claimed_until=None))
        except Exception:
            log.warning("outbox item %d: could not release its claim (another process takes it in 2 min)", item.id)

    async def _delivered(self, item: Item) -> None:
        now = self.clock.now()
        self.metrics.outbox_delivered(item.kind, max(0.0, (now - item.created_at).total_seconds()))
        if item.attempts:
            log.info("outbox %s for %s delivered after %d failed attempt(s)", item.kind, item.ref, item.attempts)
        try:
            await self._mark_delivered(item.id, item.attempts + 1, now)
        except Exception:
            self._unrecorded[item.id] = now  # never delivered twice by this process for want of a record
            log.warning("outbox item %d was delivered but could not be recorded yet; retrying the record", item.id)

    async def _mark_delivered(self, item_id: int, attempts: int | None, now: datetime) -> None:
        values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "claimed_until": None}
        if attempts is not None:
            values["attempts"] = attempts
        async with self.db.engine.begin() as conn:
            await conn.execute(update(outbox_items).where(outbox_items.c.id == item_id).values(**values))

    async def _record_unrecorded(self) -> None:
        for item_id, at in list(self._unrecorded.items()):
            await self._mark_delivered(item_id, None, at)
            del self._unrecorded[item_id]

    async def _failed(self, item: Item, exc: Exception) -> None:
        now = self.clock.now()
        attempts = item.attempts + 1
        error = _describe(exc)
        permanent = self.router.permanent(item.platform, exc) or isinstance(exc, LookupError)
        if permanent or now - item.created_at >= GIVE_UP_AFTER:
            why = "an error retrying can't fix" if permanent else f"{attempts} attempts over 24 hours"
            log.error("outbox %s for %s given up (%s): %s", item.kind, item.ref or "-", why, error)
            self.metrics.outbox_failed(item.kind)
            values: dict[str, Any] = {"status": "failed"}
            hook = self._given_up.get(item.kind)
            if hook is not None:
                try:
                    await hook(item, error)
                except Exception:
                    log.exception("outbox %s for %s: could not record that it was given up", item.kind, item.ref)
        else:
            asked = self.router.retry_after(item.platform, exc)
            delay = max(asked, 0.0) if asked is not None else backoff(attempts)
            log.warning(
                "outbox %s for %s failed (attempt %d: %s); trying again in %gs%s",
                item.kind,
                item.ref or "-",
                attempts,
                error,
                delay,
                " (the platform's Retry-After)" if asked is not None else "",
            )
            values = {"next_at": now + timedelta(seconds=delay)}
        try:
            async with self.db.engine.begin() as conn:
                await conn.execute(
                    update(outbox_items)
                    .where(outbox_items.c.id == item.id)
                    .values(attempts=attempts, last_error=error, claimed_until=None, **values)
                )
        except Exception:  # the claim runs out by itself; the item stays pending
            log.warning("outbox item %d: could not record the failed attempt", item.id)

    # ------------------------------------------------------------------ the worker

    async def next_due(self) -> datetime | None:
        platforms = self.router.platforms
        async with self.db.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.min(outbox_items.c.next_at)).where(
                        and_(outbox_items.c.status == "pending", outbox_items.c.platform.in_(platforms))
                    )
                )
            ).scalar()
        return as_utc(value)

    async def run(self) -> None:
        """Forever: deliver what is due (what a previous run left, at start), sleeping until the next
        item is due. A database outage is logged once and waited out."""
        while True:
            wait = IDLE_WAIT
            try:
                await self.flush()
                await self._prune()
                due = await self.next_due()
                if self._outage_logged:
                    log.info("outbox: the database is back; delivering again")
                    self._outage_logged = False
            except Exception as exc:
                if not self._outage_logged:
                    log.warning("outbox: can't read the database (%s); will keep trying", _describe(exc))
                    self._outage_logged = True
                due = None
                wait = FIRST_DELAY
            if due is not None:
                wait = min(wait, max(0.0, (due - self.clock.now()).total_seconds()))
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.clock.sleep(wait))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    async def _prune(self) -> None:
        now = self.clock.now()
        if self._pruned is not None and now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        async with self.db.engine.begin() as conn:
            await conn.execute(
                outbox_items.delete().where(
                    and_(outbox_items.c.status == "delivered", outbox_items.c.delivered_at < now - KEEP_DELIVERED)
                )
            )

    # ------------------------------------------------------------------ what is owed

    async def backlog(self) -> Backlog:
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox_items.c.status, func.count(), func.min(outbox_items.c.created_at))
                    .where(outbox_items.c.status.in_(("pending", "failed")))
                    .group_by(outbox_items.c.status)
                )
            ).all()
        by = {status: (int(count), as_utc(oldest)) for status, count, oldest in rows}
        pending, oldest = by.get("pending", (0, None))
        return Backlog(pending, by.get("failed", (0, None))[0], oldest)

    async def owed(self, refs: Sequence[str]) -> dict[str, str]:
        """ref → "pending" or "failed", for refs with undelivered items (failed wins)."""
        return await owed(self.db, refs)

    async def _report_pending(self) -> None:
        try:
            self.metrics.outbox_pending((await self.backlog()).pending)
        except Exception as exc:  # the next pass reports it
            log.debug("outbox: pending count not read (%s)", type(exc).__name__)

    async def drain(self) -> None:
        """Wait for deliveries this process has in flight (tests, shutdown)."""
        while self._busy:
            await asyncio.sleep(0.01)
