"""The recap feature, put together from the services passed in."""

from __future__ import annotations

from bot.core.feature import Feature, bind
from bot.core.outbox import Outbox
from bot.knowledge.service import KnowledgeService
from bot.recap.commands import COMMANDS
from bot.recap.handler import CurrentReading, RecapHandler


def build(outbox: Outbox, knowledge: KnowledgeService, *, current_reading: CurrentReading | None = None) -> Feature:
    return Feature(
        "recap", commands=bind(COMMANDS, {"recap": RecapHandler(outbox, knowledge, current_reading=current_reading)})
    )
