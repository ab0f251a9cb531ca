"""The recap feature, put together from the services passed in."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.core.feature import Feature, Task, bind
from bot.core.outbox import Outbox
from bot.knowledge.service import KnowledgeService
from bot.recap.commands import COMMANDS
from bot.recap.handler import CurrentReading, RecapHandler
from bot.recap.scheduled import ScheduledRecaps
from bot.store.threads import BotThreads


def build(
    outbox: Outbox,
    knowledge: KnowledgeService,
    *,
    current_reading: CurrentReading | None = None,
    threads: BotThreads | None = None,
    clock: Clock | None = None,
    after_prompt_hours: int = 0,
) -> Feature:
    """``after_prompt_hours`` > 0 (with ``threads`` and ``clock``): each prompt's thread is recapped that
    long after the prompt (:mod:`bot.recap.scheduled`)."""
    handler = RecapHandler(outbox, knowledge, current_reading=current_reading)
    tasks: tuple[Task, ...] = ()
    if after_prompt_hours > 0 and threads is not None and clock is not None:
        scheduled = ScheduledRecaps(
            threads, outbox, handler, clock, timedelta(hours=after_prompt_hours), current_reading=current_reading
        )
        tasks = (Task("recap-after-prompts", scheduled.run),)
    return Feature("recap", commands=bind(COMMANDS, {"recap": handler}), tasks=tasks)
