"""``/ask``, declared once for every platform."""

from __future__ import annotations

import dataclasses

from bot.core.commands import CommandSpec, OptionSpec, Suggest

ASK = CommandSpec(
    name="ask",
    description="Ask a question about the reading",
    options=(
        OptionSpec("question", "What do you want to know?", required=True),
        OptionSpec("private", "Answer only me (I can share it with the channel after)", choices=("yes", "no")),
    ),
    usage="[private:] [your question about the reading]",
    free_text="question",
)

COMMANDS = (ASK,)


def commands(suggest: Suggest | None = None) -> tuple[CommandSpec, ...]:
    """/ask, its question suggested from the readings' section titles (Discord's autocomplete)."""
    if suggest is None:
        return COMMANDS
    question, *rest = ASK.options
    return (dataclasses.replace(ASK, options=(dataclasses.replace(question, suggest=suggest), *rest)),)
