"""Running polls: start, vote, live card, close once, results, deadlines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.core.events import Channel, MessageRef, Reply, User, Where
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox
from bot.polls import render
from bot.polls.chart import bar_chart
from bot.polls.claims import Claim
from bot.polls.live import LiveUpdates
from bot.polls.model import Poll, PollSpec, Tally
from bot.polls.service import PollService, VoteResult
from bot.store.outbox import DurableOutbox, Item

log = logging.getLogger(__name__)
ZoneOf = Callable[[str, str], ZoneInfo]
# (platform, channel, upto) → the channel's reading's approved claims, or None for the shipped bank
ChannelClaims = Callable[[str, str, int | None], Awaitable[list[Claim] | None]]
# (claim, platform, channel) → (section, passage) of the channel's reading that best supports it, if any
Support = Callable[[str, str, str], Awaitable[tuple[str, str] | None]]
MAX_WAIT = 30.0  # the deadline loop looks again at least this often (new polls, other replicas)
OUTAGE_WAIT = 5.0  # without the database, look again this soon


def where_of(poll: Poll) -> Where:
    return Where(Channel(poll.platform, poll.channel_id), poll.thread_id)


class PollRuntime:
    def __init__(
        self,
        service: PollService,
        outbox: Outbox,
        clock: Clock,
        claims: list[Claim],
        *,
        metrics: Metrics = NO_METRICS,
        zone_of: ZoneOf | None = None,
        claims_for: ChannelClaims | None = None,
        support: Support | None = None,
        deliveries: DurableOutbox | None = None,
    ) -> None:
        """``zone_of(platform, channel)``: the time zone a channel reads times in (cards' close times).
        ``deliveries``: the durable outbox the final card and results go through (one over
        ``outbox`` and the service's database unless given)."""
        self.zone_of: ZoneOf = zone_of or (lambda platform, channel: render.UTC_ZONE)
        self.claims_for = claims_for
        self.support = support
        self.metrics = metrics
        self.service = service
        self.outbox = outbox
        self.clock = clock
        self.claims = claims
        self.live = LiveUpdates(self.refresh_card)
        self.deliveries = deliveries or DurableOutbox(service.db, outbox, clock, metrics=metrics)
        self.deliveries.register("poll.card", self._deliver_card)
        self.deliveries.register("poll.results", self._deliver_results)
        self.deliveries.register("poll.cancelled", self._deliver_cancelled)
        self._wake = asyncio.Event()

    async def bank(self, platform: str, channel_id: str, *, upto: int | None = None) -> list[Claim]:
        """The channel's claims: its reading's approved ones (with ``upto``, only those of sections up to
        that order), else the shipped bank."""
        if self.claims_for is not None:
            found = await self.claims_for(platform, channel_id, upto)
            if found is not None:
                return found
        return self.claims

    async def next_claim(self, platform: str, channel_id: str, *, upto: int | None = None) -> Claim | None:
        used = await self.service.polled_claim_ids(platform, channel_id)
        return next((c for c in await self.bank(platform, channel_id, upto=upto) if c.id not in used), None)

    async def supported(self, spec: PollSpec, platform: str, channel_id: str) -> PollSpec:
        """A claim of the moderator's own, with the passage of the reading that best supports it (when one does)."""
        if spec.section or self.support is None or not spec.claim:
            return spec
        try:
            found = await self.support(spec.claim, platform, channel_id)
        except Exception:  # the poll still starts, without a passage
            log.exception("could not look up a passage for the claim %r", spec.claim[:80])
            return spec
        return replace(spec, section=found[0], passage=found[1]) if found else spec

    async def start(self, spec: PollSpec, where: Where, user: User) -> tuple[Poll, Reply]:
        poll = await self.service.create(
            spec,
            platform=where.channel.platform,
            channel_id=where.channel.id,
            thread_id=where.thread_id,
            created_by=user.id,
            now=self.clock.now(),
        )
        self._wake.set()
        self.metrics.poll_opened()
        return poll, self.card(poll, await self.service.tally(poll))

    def card(self, poll: Poll, tally: Tally) -> Reply:
        return render.card(poll, tally, self.zone_of(poll.platform, poll.channel_id))

    async def discard(self, poll: Poll) -> None:
        """The card could not be posted: the poll must not linger open without one."""
        await self.service.delete(poll.id)

    async def posted(self, poll: Poll, ref: MessageRef | None) -> None:
        if ref is not None:
            await self.service.set_message(poll.id, ref.message_id)
            if (await self.service.tally(poll)).voters:  # votes that came before the card was linked
                self.live.touch(poll.id)

    async def vote(self, poll_id: str, option: int, user: User) -> str:
        poll, result = await self.service.vote(poll_id, user.id, option, now=self.clock.now())
        self.live.touch(poll_id)
        self.metrics.vote()
        label = poll.options[option]
        if result is VoteResult.SAME:
            return f"You already voted “{label}”; it's counted."
        if result is VoteResult.CHANGED:
            return f"Vote changed: you now say “{label}”."
        return f"Thanks, your vote “{label}” is counted."

    async def refresh_card(self, poll_id: str) -> None:
        poll = await self.service.get(poll_id)
        if poll is None or poll.message_id is None or not self.outbox.runs(poll.platform):
            return
        card = self.card(poll, await self.service.tally(poll))
        await self.outbox.update(MessageRef(where_of(poll), poll.message_id), card)

    async def close(self, poll_id: str) -> bool:
        """Close now (a moderator, or the deadline). Only the closer announces the results."""
        return await self.close_poll(poll_id) is not None

    async def close_poll(self, poll_id: str, decided: Callable[[], Awaitable[None]] | None = None) -> bool | None:
        """Close now: None if the poll was closed already; True once the final card and the results
        reached the platform, False if they wait in the outbox (it keeps trying). ``decided`` is awaited
        once the close and what it owes are stored, before they are delivered (Slack may be told then)."""
        items = await self.service.close(poll_id, now=self.clock.now())
        if items is None:
            return None
        self.metrics.poll_closed()
        if decided is not None:
            await decided()
        return await self.deliveries.deliver_now(items)

    async def _closed_poll(self, item: Item) -> Poll | None:
        poll = await self.service.get(str(item.payload["poll"]))
        if poll is None:
            log.warning("poll %s was deleted before its results were posted", item.payload["poll"])
        return poll

    async def _deliver_card(self, item: Item) -> None:
        """The outbox's "poll.card": the card shows the final tally, without buttons."""
        poll = await self._closed_poll(item)
        if poll is None or poll.message_id is None:
            return
        tally = await self.service.tally(poll)
        async with self.live.lock(poll.id):  # after any live edit in flight, never before
            await self.outbox.update(MessageRef(where_of(poll), poll.message_id), self.card(poll, tally))

    async def _deliver_results(self, item: Item) -> None:
        """The outbox's "poll.results": the results post with its chart (and the shift since last time)."""
        poll = await self._closed_poll(item)
        if poll is None:
            return
        tally = await self.service.tally(poll)
        shift = ""
        before = await self.service.previous(poll)
        if before is not None:
            shift = render.shift_line(poll, tally, before, await self.service.tally(before))
        zone = self.zone_of(poll.platform, poll.channel_id)
        closed_at = (
            poll.closed_at.astimezone(zone) if poll.closed_at else None
        )  # the chart says it in the channel's zone
        chart = await asyncio.to_thread(bar_chart, poll.claim, poll.options, tally, closed_at=closed_at)
        await self.outbox.send(where_of(poll), render.results(poll, tally, chart, shift))

    async def cancel(self, poll_id: str) -> bool:
        """Cancel an open poll: its card says so (buttons gone), through the outbox; no results, no
        chart. False if the poll was not open."""
        items = await self.service.cancel(poll_id, now=self.clock.now())
        if items is None:
            return False
        await self.deliveries.deliver_now(items)
        return True

    async def _deliver_cancelled(self, item: Item) -> None:
        """The outbox's "poll.cancelled": the card says the poll was cancelled, without buttons."""
        poll = await self._closed_poll(item)
        if poll is None or poll.message_id is None:
            return
        async with self.live.lock(poll.id):  # after any live edit in flight, never before
            card = render.cancelled_card(poll, self.zone_of(poll.platform, poll.channel_id))
            await self.outbox.update(MessageRef(where_of(poll), poll.message_id), card)

    async def close_due(self) -> int:
        """Close every poll whose deadline passed (at start-up too)."""
        closed = 0
        for poll in await self.service.due(self.clock.now()):
            if not self.outbox.runs(poll.platform):
                continue
            try:
                closed += await self.close(poll.id)
            except Exception:
                log.exception("could not close poll %s", poll.id)
        return closed

    async def watch_deadlines(self) -> None:
        """Forever: close polls as their deadlines pass (a database outage is waited out)."""
        outage = False
        while True:
            try:
                await self.close_due()
                deadline = await self.service.next_deadline()
            except Exception as exc:
                if not outage:
                    log.warning("poll deadlines: can't read the database (%s); will keep trying", type(exc).__name__)
                    outage = True
                deadline, wait = None, OUTAGE_WAIT
            else:
                if outage:
                    log.info("poll deadlines: the database is back")
                    outage = False
                wait = MAX_WAIT
            if deadline is not None:
                wait = min(MAX_WAIT, max(0.0, (deadline - self.clock.now()) / timedelta(seconds=1)))
            self._wake.clear()
            sleeper = asyncio.create_task(self.clock.sleep(wait))
            waker = asyncio.create_task(self._wake.wait())
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, waker):
                task.cancel()
