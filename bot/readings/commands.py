"""``/reading``, declared once for every platform."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.commands import CommandSpec, OptionSpec

ACTIONS = ("show", "list", "use", "add", "remove", "progress")


def commands(
    suggest_ids: Callable[[str], list[tuple[str, str]]],
    suggest_sections: Callable[[str], list[tuple[str, str]]] | None = None,
) -> tuple[CommandSpec, ...]:
    """``suggest_sections``: the readings' section headings, for ``progress``."""
    return (
        CommandSpec(
            name="reading",
            description="The channel's reading: see it, list readings; moderators: use, add, remove, progress",
            options=(
                OptionSpec("action", "show (default), list, use, add, remove or progress", choices=ACTIONS),
                OptionSpec("id", "The reading's id (e.g. kari-woodencoat)", suggest=suggest_ids),
                OptionSpec("file", "add: the reading's file (.txt, .md, .html, .pdf, .epub)", kind="file"),
                OptionSpec("title", "add: a title (default: the file's own)"),
                OptionSpec(
                    "section",
                    "progress: the last section the group has read (a heading, its start or number; clear: all)",
                    suggest=suggest_sections or (lambda typed: []),
                ),
            ),
            usage="[list | use ID | add ID [title] (with a file) | remove ID | progress SECTION|clear]",
        ),
    )
