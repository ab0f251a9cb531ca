"""``/ask``, declared once for every platform."""

from __future__ import annotations

from bot.core.commands import CommandSpec, OptionSpec

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
