"""Running polls: start, vote, live card, close once, results, deadlines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.clock import Clock
from bot.core.events import Channel, MessageRef, Reply, User, Where
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox
from bot.polls import render
from bot.polls.chart import bar_chart
from bot.polls.claims import Claim
from bot.polls.live import LiveUpdates
from bot.polls.model import Poll, PollSpec
from bot.polls.service import PollService, VoteResult
from bot.store.outbox import DurableOutbox, Item

log = logging.getLogger(__name__)
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
        deliveries: DurableOutbox | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        """``deliveries``: the durable outbox the final card and results go through (one over
        ``outbox`` and the service's database unless given)."""
        self.metrics = metrics
        self.service = service
        self.outbox = outbox
        self.clock = clock
        self.claims = claims
        self.live = LiveUpdates(self.refresh_card)
        self.deliveries = deliveries or DurableOutbox(service.db, outbox, clock, metrics=metrics)
        self.deliveries.register("poll.card", self._deliver_card)
        self.deliveries.register("poll.results", self._deliver_results)
        self._wake = asyncio.Event()

    async def next_claim(self, platform: str, channel_id: str) -> Claim | None:
        used = await self.service.polled_claim_ids(platform, channel_id)
        return next((c for c in self.claims if c.id not in used), None)

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
        return poll, render.card(poll, await self.service.tally(poll))

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
        card = render.card(poll, await self.service.tally(poll))
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
            await self.outbox.update(MessageRef(where_of(poll), poll.message_id), render.card(poll, tally))

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
        chart = await asyncio.to_thread(bar_chart, poll.claim, poll.options, tally, closed_at=poll.closed_at)
        await self.outbox.send(where_of(poll), render.results(poll, tally, chart, shift))

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
