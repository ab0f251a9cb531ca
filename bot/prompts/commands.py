"""``/prompt``, declared once for every platform."""

from __future__ import annotations

from bot.core.commands import CommandSpec, OptionSpec

PROMPT = CommandSpec(
    name="prompt",
    description="Discussion prompts: suggest a question; moderators: now, skip, pause, resume, list, add, drafts",
    options=(OptionSpec("text", "suggest <question>; moderators: now, skip, pause, resume, list, add, drafts"),),
    usage="suggest <question> | now | skip | pause | resume | list | add [next] <question> | schedule | drafts",
    free_text="text",
)

COMMANDS = (PROMPT,)
