"""The Q&A feature, put together from the services passed in."""

from __future__ import annotations

from bot.ask.commands import COMMANDS
from bot.ask.followups import FollowUps
from bot.ask.handler import AskHandler, CurrentReading
from bot.core.feature import Feature, bind
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
    threads: BotThreads | None = None,
) -> Feature:
    """``threads``: where the threads readbot started are kept; with it, a member's question in one of
    them is answered without a mention (:mod:`bot.ask.followups`)."""
    ask = AskHandler(knowledge, history, metrics=metrics, current_reading=current_reading)
    handler = FollowUps(ask, threads)
    return Feature("ask", commands=bind(COMMANDS, {"ask": handler}), on_message=handler)
