"""``/prompt``, declared once for every platform."""

from __future__ import annotations

from bot.core.commands import CommandSpec, OptionSpec

PROMPT = CommandSpec(
    name="prompt",
    description="Discussion prompts (moderators): now, skip, pause, resume, list, add [next] <question>, schedule",
    options=(OptionSpec("text", "now, skip, pause, resume, list, add [next] <question> or schedule"),),
    moderator_only=True,
    usage="now | skip | pause | resume | list | add [next] <question> | schedule",
    free_text="text",
)

COMMANDS = (PROMPT,)
