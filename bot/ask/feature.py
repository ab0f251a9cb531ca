"""The Q&A feature, put together from the services passed in."""

from __future__ import annotations

from bot.ask.commands import commands
from bot.ask.followups import FollowUps
from bot.ask.handler import AskHandler, CurrentReading, Owe, Progress
from bot.ask.record import AnswerRecorder
from bot.ask.suggestions import ReadingSuggestions
from bot.clock import Clock
from bot.core.feature import Feature, Task, bind
from bot.core.metrics import NO_METRICS, Metrics
from bot.knowledge.service import KnowledgeService
from bot.store.history import ThreadHistory
from bot.store.threads import BotThreads


def build(
    knowledge: KnowledgeService,
    history: ThreadHistory | None,
    *,
    metrics: Metrics = NO_METRICS,
    current_reading: CurrentReading | None = None,
    progress: Progress | None = None,
    recorder: AnswerRecorder | None = None,
    owe: Owe | None = None,
    threads: BotThreads | None = None,
    suggestions: ReadingSuggestions | None = None,
    clock: Clock | None = None,
) -> Feature:
    """``threads``: where the threads readbot started are kept; with it, a member's question in one of
    them is answered without a mention (:mod:`bot.ask.followups`). ``suggestions`` (with ``clock``):
    /ask's question autocompleted from the readings' section titles, kept fresh by a task."""
    ask = AskHandler(
        knowledge,
        history,
        metrics=metrics,
        current_reading=current_reading,
        progress=progress,
        recorder=recorder,
        owe=owe,
    )
    handler = FollowUps(ask, threads)
    specs = commands(suggestions.suggest if suggestions is not None else None)
    tasks: tuple[Task, ...] = ()
    if suggestions is not None and clock is not None:
        tasks = (Task("ask-suggestions", lambda: suggestions.run(clock)),)
    return Feature("ask", commands=bind(specs, {"ask": handler}), on_message=handler, tasks=tasks)
