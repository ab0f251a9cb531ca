"""Give a running core's handlers, polls and prompts the process's metrics."""

from __future__ import annotations

from bot.app import Core
from bot.core.handlers import AskHandler
from bot.ops.metrics import Metrics


def instrument(core: Core, metrics: Metrics) -> None:
    """After ``core.open()``: /ask and mentions are answered by an AskHandler that reports
    (registered again through the dispatcher's public API); polls and prompts report too.
    (bot.app builds them without metrics; passing ``metrics=`` there would make this smaller.)"""
    ask = AskHandler(core.knowledge, core.history, metrics=metrics)
    core.dispatcher.on_message(ask)
    core.dispatcher.command("ask", ask)
    if core.polls is not None:
        core.polls.metrics = metrics
    if core.prompts is not None:
        core.prompts.metrics = metrics
