"""``/help``: the commands this person may use here, built from the features' declarations.

One line per command: how it is typed (its ``usage``, the example of its text form) and what it
does. Moderator-only commands are listed only for moderators (:mod:`bot.core.moderation`). The
same list answers an unknown command and a message whose whole text is "help", so a person who
mistypes learns what there is instead of being told only what there isn't.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.core.adapter import Responder
from bot.core.commands import CommandSpec, OptionSpec
from bot.core.events import Command, Event, Message, Reply, User, Visibility
from bot.core.moderation import is_moderator
from bot.core.text import neutralize_mentions

NAME = "help"
APP_COMMAND = "readbot"  # readbot as one command, where a platform has one (Slack: /readbot help, /readbot <command>)
HELP = CommandSpec(
    name=NAME,
    description="List the commands you can use here, with an example of each",
    options=(OptionSpec("command", "One command to explain, e.g. poll (default: the list of all)"),),
    usage="[command]",
    free_text="command",
)
NAME_SHOWN = 40  # an unknown command's name, as echoed back


def asks_for_help(text: str) -> bool:
    """A message whose whole text is "help" (any case, with or without a trailing "?" or "!")."""
    words = text.strip().lower()
    return words == "?" or words.rstrip("?!. ") in ("help", "/help")


Aliases = Mapping[str, Mapping[str, str]]
"""platform → {command name → how it is typed there}, e.g. {"slack": {"help": "readbot help"}}."""


def example(spec: CommandSpec, typed: Mapping[str, str] | None = None) -> str:
    return f"/{(typed or {}).get(spec.name, spec.name)} {spec.usage}".rstrip()


def visible(specs: Sequence[CommandSpec], user: User, moderators: frozenset[str]) -> list[CommandSpec]:
    """The commands this person may use, in declaration order, /help last."""
    allowed = is_moderator(user, moderators)
    shown = [s for s in specs if s.name != NAME and (allowed or not s.moderator_only)]
    return shown + [s for s in specs if s.name == NAME]


def command_list(
    specs: Sequence[CommandSpec], user: User, moderators: frozenset[str], typed: Mapping[str, str] | None = None
) -> str:
    lines = ["Commands you can use here:"]
    lines += [f"• {example(s, typed)}: {s.description}" for s in visible(specs, user, moderators)]
    lines.append("Or mention me with a question about the reading.")
    if not is_moderator(user, moderators) and any(s.moderator_only for s in specs):
        lines.append("Moderators have more commands (polls, prompts).")
    return "\n".join(lines)


def one_command(spec: CommandSpec, typed: Mapping[str, str] | None = None) -> str:
    lines = [f"{example(spec, typed)}: {spec.description}"]
    lines += [f"  {o.name}: {o.description}" for o in spec.options if o.name != spec.free_text]
    return "\n".join(lines)


class HelpHandler:
    """``/help``, ``/help <command>``, a message "help", and any command nobody declared."""

    def __init__(
        self, specs: Callable[[], Sequence[CommandSpec]], moderators: frozenset[str], aliases: Aliases | None = None
    ) -> None:
        """``aliases``: where a platform types a command under another name (Slack: ``/readbot help``)."""
        self._specs = specs
        self.moderators = moderators
        self.aliases = aliases or {}

    def text_for(self, event: Event) -> str:
        specs = list(self._specs())
        typed = self.aliases.get(event.where.channel.platform, {})
        listing = command_list(specs, event.user, self.moderators, typed)
        if isinstance(event, Message):
            return listing
        assert isinstance(event, Command)
        if event.name != NAME:
            name = neutralize_mentions(event.name[:NAME_SHOWN])
            return f"I don't know the command /{name}.\n{listing}"
        words = event.options.get("command", event.text).split()
        if not words:
            return listing
        allowed = {s.name: s for s in visible(specs, event.user, self.moderators)}
        wanted = words[0].lstrip("/").lower()
        if len(words) == 1 and wanted in allowed:
            return one_command(allowed[wanted], typed)
        if len(words) == 1 and any(s.name == wanted for s in specs):
            return f"/{wanted} is for moderators only."
        if len(words) == 1:
            shown = neutralize_mentions(wanted[:NAME_SHOWN])
            return f"There is no command /{shown} you can use here; send help alone for the list."
        return "Help takes at most one command's name (e.g. help poll); send help alone for the list."

    async def __call__(self, event: Event, responder: Responder) -> None:
        await responder.reply(Reply(self.text_for(event), visibility=Visibility.PRIVATE))
