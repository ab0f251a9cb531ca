"""``/recap``, declared once for every platform."""

from __future__ import annotations

from bot.core.commands import CommandSpec

RECAP = CommandSpec(
    name="recap",
    description="Recap this thread: its main points by theme, open questions and the passages it touched",
    usage="(in a thread; on Slack mention readbot there: @readbot /recap)",
)

COMMANDS = (RECAP,)
