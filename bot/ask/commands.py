"""``/ask``, declared once for every platform."""

from __future__ import annotations

from bot.core.commands import CommandSpec, OptionSpec, Suggest

ASK = CommandSpec(
    name="ask",
    description="Ask a question about the reading",
    options=(OptionSpec("question", "What do you want to know?", required=True),),
    usage="[your question about the reading]",
    free_text="question",
)

COMMANDS = (ASK,)


def commands(suggest: Suggest | None = None) -> tuple[CommandSpec, ...]:
    """/ask, its question suggested from the readings' section titles (Discord's autocomplete)."""
    if suggest is None:
        return COMMANDS
    question = OptionSpec("question", "What do you want to know?", required=True, suggest=suggest)
    return (CommandSpec(ASK.name, ASK.description, (question,), usage=ASK.usage, free_text=ASK.free_text),)
