"""The polls feature, put together from the services passed in: /poll, its buttons and form,
and the deadline watcher."""

from __future__ import annotations

from collections.abc import Sequence

from bot.clock import Clock
from bot.core.feature import Feature, Task, bind
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox
from bot.polls.claims import Claim
from bot.polls.commands import commands
from bot.polls.handlers import PollHandler
from bot.polls.runtime import ChannelClaims, PollRuntime, Support, ZoneOf
from bot.polls.service import PollService
from bot.review.desk import ReviewDesk
from bot.store.outbox import DurableOutbox


def build(
    service: PollService,
    outbox: Outbox,
    clock: Clock,
    claims: Sequence[Claim],
    *,
    moderators: frozenset[str],
    metrics: Metrics = NO_METRICS,
    zone_of: ZoneOf | None = None,
    claims_for: ChannelClaims | None = None,
    support: Support | None = None,
    desk: ReviewDesk | None = None,
    deliveries: DurableOutbox | None = None,
) -> tuple[PollRuntime, Feature]:
    runtime = PollRuntime(
        service,
        outbox,
        clock,
        list(claims),
        metrics=metrics,
        zone_of=zone_of,
        claims_for=claims_for,
        support=support,
        deliveries=deliveries,
    )
    handler = PollHandler(runtime, moderators, desk)
    return runtime, Feature(
        "polls",
        commands=bind(commands(claims), {"poll": handler.command}),
        buttons={"poll": handler.button},
        forms={"poll": handler.form},
        tasks=(Task("poll-deadlines", runtime.watch_deadlines),),
        drain=runtime.live.drain,
    )
