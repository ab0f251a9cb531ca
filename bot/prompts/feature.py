"""The prompts feature, put together from the services passed in: /prompt and the scheduler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.clock import Clock
from bot.core.feature import Feature, Task, bind
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox
from bot.prompts.commands import COMMANDS
from bot.prompts.config import ChannelPlan
from bot.prompts.handlers import PromptHandler
from bot.prompts.scheduler import PromptScheduler
from bot.prompts.service import PromptService
from bot.review.desk import ReviewDesk
from bot.store.outbox import DurableOutbox


def build(
    service: PromptService,
    outbox: Outbox,
    clock: Clock,
    plans: Sequence[ChannelPlan],
    *,
    grace: timedelta,
    moderators: frozenset[str],
    metrics: Metrics = NO_METRICS,
    desk: ReviewDesk | None = None,
    deliveries: DurableOutbox | None = None,
) -> tuple[PromptScheduler, Feature]:
    scheduler = PromptScheduler(service, outbox, clock, plans, grace=grace, metrics=metrics, deliveries=deliveries)
    return scheduler, Feature(
        "prompts",
        commands=bind(COMMANDS, {"prompt": PromptHandler(scheduler, moderators, desk).command}),
        tasks=(Task("prompt-scheduler", scheduler.run),),
        drain=scheduler.drain,
    )
