"""The Q&A feature, put together from the services passed in."""

from __future__ import annotations

from bot.ask.commands import COMMANDS
from bot.ask.handler import AskHandler, CurrentReading, Owe, Progress
from bot.ask.record import AnswerRecorder
from bot.core.feature import Feature, bind
from bot.core.metrics import NO_METRICS, Metrics
from bot.knowledge.service import KnowledgeService
from bot.store.history import ThreadHistory


def build(
    knowledge: KnowledgeService,
    history: ThreadHistory | None,
    *,
    metrics: Metrics = NO_METRICS,
    current_reading: CurrentReading | None = None,
    progress: Progress | None = None,
    recorder: AnswerRecorder | None = None,
    owe: Owe | None = None,
) -> Feature:
    ask = AskHandler(
        knowledge,
        history,
        metrics=metrics,
        current_reading=current_reading,
        progress=progress,
        recorder=recorder,
        owe=owe,
    )
    return Feature("ask", commands=bind(COMMANDS, {"ask": ask}), on_message=ask)
