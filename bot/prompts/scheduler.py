"""The prompt scheduler: post each channel's scheduled prompts exactly once.

Every (platform, channel, scheduled instant) is a *slot*. Before posting a slot a
scheduler inserts its claim row; the database's unique key lets exactly one insert
succeed, across restarts and across processes sharing the database, and only that
scheduler posts. The claim row stays whatever happens next (posted, failed, paused), so
a slot is never posted twice.

The post itself is owed through the durable outbox (:mod:`bot.store.outbox`): the slot's question and
the outbox item are recorded in one transaction, then delivered at once; a platform error is retried
with backoff (honouring Retry-After) for up to 24 hours, across restarts, and the claim row is marked
posted (or failed, when the outbox gives up).

Each channel remembers how far a scheduler has looked at it (``watched_until``). At
start-up the slots since then were missed while readbot was down: the latest is posted if
it is less than the grace period late, the others are skipped and logged. A channel no
scheduler has looked at before starts from now.

Time comes from an injectable :class:`~bot.clock.Clock`, so tests move it by hand.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.core.events import Channel, MessageRef, Reply, Where
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox
from bot.core.tasks import InFlight
from bot.errors import InputError
from bot.prompts.bank import Question
from bot.prompts.config import ChannelPlan
from bot.prompts.render import local_time, prompt_post
from bot.prompts.service import PromptService
from bot.store.outbox import DurableOutbox, Item

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(minutes=120)
ON_TIME = timedelta(minutes=2)  # a slot less late than this is on time (a busy loop), whatever the grace
MAX_WAIT = 60.0  # look again at least this often (clock changes, other replicas)
MIN_WAIT = 0.5  # never spin, even when a slot is due right now
MISS_LOOKBACK = timedelta(days=7)  # after a longer outage, older misses are summarised, not listed
MAX_MISSES_LOGGED = 5
STOP_TIMEOUT = 10.0  # seconds a post in flight may take to finish at shutdown

Send = Callable[[Reply], Awaitable[MessageRef | None]]


@dataclass(frozen=True)
class Job:
    """A slot this scheduler claimed, with the question it will post."""

    plan: ChannelPlan
    slot: datetime
    question: Question
    item: int  # the outbox item that posts it


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str  # posted | pending (the outbox keeps trying) | failed
    attempts: int
    message_id: str | None = None


def where_of(plan: ChannelPlan) -> Where:
    return Where(Channel(plan.platform, plan.channel))


def identity() -> str:
    return f"scheduler {socket.gethostname()}:{os.getpid()}"


class PromptScheduler:
    def __init__(
        self,
        service: PromptService,
        outbox: Outbox,
        clock: Clock,
        plans: Sequence[ChannelPlan],
        *,
        grace: timedelta = DEFAULT_GRACE,
        name: str | None = None,
        metrics: Metrics = NO_METRICS,
        deliveries: DurableOutbox | None = None,
    ) -> None:
        """``deliveries``: the durable outbox posts go through (one over ``outbox`` and the service's
        database unless given)."""
        self.metrics = metrics
        self.service = service
        self.outbox = outbox
        self.clock = clock
        self.plans = list(plans)
        self.grace = grace
        self.name = name or identity()
        self._cursor: dict[tuple[str, str], datetime] = {}
        self._active: list[ChannelPlan] | None = None
        self._posts = InFlight("prompt posts")
        self.deliveries = deliveries or DurableOutbox(service.db, outbox, clock, metrics=metrics)
        self.deliveries.register("prompt.post", self._post, given_up=self._given_up)

    # ------------------------------------------------------------------ which channels

    def plan_for(self, platform: str, channel: str) -> ChannelPlan | None:
        return next((p for p in self.plans if p.key == (platform, channel)), None)

    def active_plans(self) -> list[ChannelPlan]:
        """Plans whose platform this process runs (decided once; the others are logged once)."""
        if self._active is None:
            self._active = []
            for plan in self.plans:
                if self.outbox.runs(plan.platform):
                    self._active.append(plan)
                    continue
                for schedule in plan.schedules:
                    log.info("prompt %s skipped: this process does not run %s", schedule.label, plan.platform)
        return self._active

    # ------------------------------------------------------------------ deciding slots

    async def due(self) -> list[Job]:
        """Decide every slot that came due since the last look: claim and prepare the ones
        to post, skip (and log) the ones too late. Safe to call at any time, from any
        number of processes."""
        now = self.clock.now()
        jobs = []
        for plan in self.active_plans():
            try:
                job = await self._check(plan, now)
            except Exception:
                log.exception("prompt schedule for %s: could not check due slots", plan.label)
                continue
            if job is not None:
                jobs.append(job)
        return jobs

    async def _check(self, plan: ChannelPlan, now: datetime) -> Job | None:
        start = self._cursor.get(plan.key)
        if start is None:
            start = await self.service.watched_until(plan.platform, plan.channel) or now
        job = None
        if start < now:
            earliest = now - max(MISS_LOOKBACK, self.grace)
            if start < earliest:
                log.warning(
                    "prompts for %s: no scheduler ran since %s; slots before %s are not checked",
                    plan.label,
                    start.isoformat(),
                    earliest.isoformat(),
                )
                start = earliest
            job = await self._decide(plan, plan.between(start, now), now)
        self._cursor[plan.key] = max(start, now)
        try:
            await self.service.watched(plan.platform, plan.channel, now)
        except Exception:  # only start-up catch-up needs it; the claimed job must still be posted
            log.exception("prompts for %s: could not record the time checked", plan.label)
        return job

    def _too_late(self, slot: datetime, now: datetime) -> bool:
        return now - slot >= max(self.grace, ON_TIME)

    async def _decide(self, plan: ChannelPlan, slots: list[datetime], now: datetime) -> Job | None:
        """Of the slots due since the last look, post the latest if it is not too late; skip the rest."""
        if not slots:
            return None
        *older, latest = slots
        if self._too_late(latest, now):
            await self._missed(plan, slots, now)
            return None
        await self._missed(plan, older, now)
        return await self._claim(plan, latest, now)

    async def _missed(self, plan: ChannelPlan, slots: list[datetime], now: datetime) -> None:
        """Record and log the last few missed slots (once, by whoever records them); summarise the rest."""
        shown = slots[-MAX_MISSES_LOGGED:]
        if len(slots) > len(shown):
            log.warning(
                "prompts for %s: %d earlier slots, %s to %s, were missed too: skipped",
                plan.label,
                len(slots) - len(shown),
                local_time(slots[0], plan.timezone),
                local_time(slots[-len(shown) - 1], plan.timezone),
            )
        grace = f"more than {int(self.grace.total_seconds() // 60)} min late"
        for slot in shown:
            if await self.service.claim(plan.platform, plan.channel, slot, status="missed", by=self.name, now=now):
                why = grace if self._too_late(slot, now) else "a later prompt was due too; only the latest is posted"
                log.warning(
                    "prompt for %s at %s (%s) was missed by %s: skipped (%s)",
                    plan.label,
                    local_time(slot, plan.timezone),
                    slot.isoformat(),
                    _late(now - slot),
                    why,
                )

    async def _claim(self, plan: ChannelPlan, slot: datetime, now: datetime) -> Job | None:
        if not await self.service.claim(plan.platform, plan.channel, slot, status="claimed", by=self.name, now=now):
            return None  # someone else has decided this slot (posted it, a moderator skipped it)
        try:
            if await self.service.paused(plan.platform, plan.channel):
                await self.service.record(plan.platform, plan.channel, slot, status="paused")
                log.info(
                    "prompt for %s at %s not posted: prompts are paused there",
                    plan.label,
                    local_time(slot, plan.timezone),
                )
                return None
            question = await self.service.take_next(plan.platform, plan.channel, now=now)
            item = await self.service.assign(plan.platform, plan.channel, slot, question, now=now)
        except Exception as exc:
            await self._record_failure(plan, slot, 0, exc)
            raise
        if now > slot + timedelta(minutes=1):
            log.info(
                "prompt for %s at %s is %s late: posting it now",
                plan.label,
                local_time(slot, plan.timezone),
                _late(now - slot),
            )
        return Job(plan, slot, question, item)

    # ------------------------------------------------------------------ posting

    async def deliver(self, job: Job) -> Outcome:
        """Post a claimed slot now, through the outbox; a failure is left to the outbox's retries."""
        await self.deliveries.deliver_now([job.item])
        row = (
            await self.service.claims(job.plan.platform, job.plan.channel, job.slot - timedelta(seconds=1), job.slot)
        )[job.slot]
        status = "pending" if row["status"] == "claimed" else str(row["status"])
        return Outcome(job, status, int(row["attempts"] or 0), row["message_id"])

    @staticmethod
    def _slot_of(item: Item) -> tuple[str, str, datetime, Question]:
        payload = item.payload
        slot = datetime.fromisoformat(str(payload["slot"]))
        return item.platform, str(payload["channel"]), slot, Question(*payload["question"])

    async def _post(self, item: Item) -> None:
        """The outbox's "prompt.post": post the slot's question, then record it posted."""
        platform, channel, slot, question = self._slot_of(item)
        plan = self.plan_for(platform, channel)
        label = plan.label if plan is not None else f"{platform} {channel}"
        ref = await self.outbox.send(Where(Channel(platform, channel)), prompt_post(question))
        try:
            await self.service.record(
                platform,
                channel,
                slot,
                status="posted",
                message_id=ref.message_id,
                posted_at=self.clock.now(),
                attempts=item.attempts + 1,
            )
        except Exception:  # posted: the outbox marks it delivered, so it is never posted again
            log.exception(
                "prompt for %s at %s was posted (message %s) but could not be recorded",
                label,
                slot.isoformat(),
                ref.message_id,
            )
        self.metrics.prompt_posted()
        when = local_time(slot, plan.timezone) if plan is not None else slot.isoformat()
        log.info("prompt for %s at %s posted: %s", label, when, question.id)

    async def _given_up(self, item: Item, error: str) -> None:
        platform, channel, slot, question = self._slot_of(item)
        log.error(
            "prompt for %s %s at %s (%s) could not be posted after %d attempt%s: %s",
            platform,
            channel,
            slot.isoformat(),
            question.id,
            item.attempts + 1,
            "s" if item.attempts else "",
            error,
        )
        await self.service.record(
            platform, channel, slot, status="failed", attempts=item.attempts + 1, error=error[:1000]
        )

    async def _record_failure(self, plan: ChannelPlan, slot: datetime, attempts: int, exc: BaseException) -> None:
        try:
            await self.service.record(
                plan.platform, plan.channel, slot, status="failed", attempts=attempts, error=_describe(exc)[:1000]
            )
        except Exception:
            log.exception("could not record the failed prompt for %s at %s", plan.label, slot.isoformat())

    async def tick(self) -> list[Outcome]:
        """Decide the due slots and post them, waiting for the posts (tests, one-shot use)."""
        return list(await asyncio.gather(*(self.deliver(job) for job in await self.due())))

    # ------------------------------------------------------------------ the loop

    def seconds_to_next(self) -> float:
        now = self.clock.now()
        upcoming = [p.next_after(max(now, self._cursor.get(p.key, now))) for p in self.active_plans()]
        soonest = min((t for t in upcoming if t is not None), default=None)
        if soonest is None:
            return MAX_WAIT
        return min(MAX_WAIT, max(MIN_WAIT, (soonest - now).total_seconds()))

    async def run(self) -> None:
        """Forever: catch up at start, then post each slot as it comes due. Posts (and their
        retries) run as their own tasks, so one slow platform delays no other channel."""
        if not self.active_plans():
            return
        for plan in self.active_plans():
            log.info(
                "prompts for %s (%s, %s): next at %s",
                plan.label,
                plan.timezone.key,
                "; ".join(plan.crons),
                _maybe_time(plan.next_after(self.clock.now()), plan),
            )
        try:
            while True:
                for job in await self.due():
                    self._posts.spawn(self.deliver(job))
                await self.clock.sleep(self.seconds_to_next())
        finally:
            await self._posts.drain(STOP_TIMEOUT)  # a post being sent finishes (the outbox owes the rest)

    async def drain(self) -> None:
        """Wait for posts in flight."""
        await self._posts.idle()

    # ------------------------------------------------------------------ moderators

    async def upcoming(self, plan: ChannelPlan, count: int) -> list[datetime]:
        """The next ``count`` slots that will post (moderators' skips left out)."""
        now = self.clock.now()
        found: list[datetime] = []
        horizon = now
        while len(found) < count:
            batch = []
            for slot in plan.slots_after(horizon):
                batch.append(slot)
                if len(batch) >= count * 2:
                    break
            if not batch:
                break
            claimed = await self.service.claims(plan.platform, plan.channel, horizon, batch[-1])
            found += [s for s in batch if s not in claimed]
            horizon = batch[-1]
        return found[:count]

    async def skip_next(self, plan: ChannelPlan, by: str) -> datetime | None:
        """Claim the next slot not yet decided as skipped; None if there is none."""
        now = self.clock.now()
        for slot in plan.slots_after(now):
            if await self.service.claim(
                plan.platform, plan.channel, slot, status="skipped", by=f"moderator {by}", now=now
            ):
                log.info("prompt for %s at %s skipped by moderator %s", plan.label, local_time(slot, plan.timezone), by)
                return slot
            if slot - now > timedelta(days=366):
                break
        return None

    async def post_now(self, channel: Channel, send: Send | None = None) -> tuple[Question, MessageRef | None]:
        """Post the channel's next question now (a moderator's /prompt now): through the
        outbox, or ``send`` where this process has no adapter for the platform (a reply)."""
        before = await self.service.state(channel.platform, channel.id)
        question = await self.service.take_next(channel.platform, channel.id, now=self.clock.now())
        reply = prompt_post(question)
        try:
            if self.outbox.runs(channel.platform) or send is None:
                ref: MessageRef | None = await self.outbox.send(Where(channel), reply)
            else:
                ref = await send(reply)
        except Exception as exc:
            taken = await self.service.state(channel.platform, channel.id)
            if before is not None and taken is not None:
                await self.service.restore(channel.platform, channel.id, before, taken, now=self.clock.now())
            log.warning(
                "prompt for %s %s could not be posted on request: %s", channel.platform, channel.id, _describe(exc)
            )
            raise InputError(
                "I couldn't post the prompt in this channel. Is readbot invited here? The question stays next in line."
            ) from exc
        self.metrics.prompt_posted()
        log.info("prompt for %s %s posted on request: %s", channel.platform, channel.id, question.id)
        return question, ref


def _late(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _maybe_time(instant: datetime | None, plan: ChannelPlan) -> str:
    return local_time(instant, plan.timezone) if instant else "never"
