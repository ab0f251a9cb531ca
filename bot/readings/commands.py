"""``/reading``, declared once for every platform."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.commands import CommandSpec, OptionSpec

ACTIONS = ("show", "list", "use", "add", "remove")


def commands(suggest_ids: Callable[[str], list[tuple[str, str]]]) -> tuple[CommandSpec, ...]:
    return (
        CommandSpec(
            name="reading",
            description="The channel's reading: see it, list readings; moderators: use, add or remove one",
            options=(
                OptionSpec("action", "show (default), list, use, add or remove", choices=ACTIONS),
                OptionSpec("id", "The reading's id (e.g. kari-woodencoat)", suggest=suggest_ids),
                OptionSpec("file", "add: the reading's file (.txt, .md, .html, .pdf, .epub)", kind="file"),
                OptionSpec("title", "add: a title (default: the file's own)"),
            ),
            usage="[list | use ID | add ID [title] (with a file) | remove ID]",
        ),
    )
