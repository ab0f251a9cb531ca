"""Slash commands: ``/ask question:<text>``, ``/poll`` with its own options, and, for every other command
the dispatcher knows, ``/<name> [text:<text>]``.

The callbacks don't use discord.py's parsed arguments: they hand the interaction to the adapter,
which translates its raw data (:func:`.translate.command_event`, then :func:`shape` for the commands
with options of their own). A command Discord still shows but readbot no longer registers (or registers
differently) is routed the same way, so the dispatcher answers it ("I don't know the command …")
instead of the interaction timing out.

``/poll`` (registered when the dispatcher has a ``poll`` command) takes ``claim`` (autocompleted from
the claims bank when the adapter was given an autocomplete provider), ``options`` ("a | b | c"),
``duration`` ("30m", "2h", "3d"), ``anonymous`` and ``hidden`` (on/off) and ``action`` (start/close);
:func:`poll_event` maps them onto what the core's poll handler reads: ``Command.options`` keys ``claim``,
``options``, ``duration``, ``anonymous``, ``hidden``, and ``Command.text`` "close" to close the latest
open poll.
"""

# No ``from __future__ import annotations``: discord.py reads the callbacks' annotations.
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Literal, Protocol

import discord
from discord import app_commands

from bot.adapters.discord.render import no_mentions, shorten
from bot.core.dispatcher import SORRY
from bot.core.events import Command

log = logging.getLogger(__name__)

COMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
ASK_DESCRIPTION = "Ask a question about the reading"
QUESTION_DESCRIPTION = "What do you want to know?"
TEXT_DESCRIPTION = "Text for the command (optional)"

POLL_DESCRIPTION = "Start a poll on a claim (moderators), or close the latest open poll here"
POLL_OPTION_DESCRIPTIONS = {
    "claim": "The claim to vote on: pick one from the reading or write your own (default: the next one)",
    "options": "Answers separated by | (2 to 5), e.g. yes | no | unsure (default: Strongly agree … disagree)",
    "duration": "How long it runs: 30m, 2h or 3d (1 minute to 7 days; default 60m)",
    "anonymous": "Keep voters anonymous (default: on)",
    "hidden": "Hide the results until the poll closes (default: off)",
    "action": "start a poll (default) or close the latest open poll in this channel",
}
POLL_FIELDS = ("claim", "options", "duration", "anonymous", "hidden")  # Command.options keys the core reads
CLOSE = "close"

MAX_CHOICES = 25  # Discord: at most 25 autocomplete choices
MAX_CHOICE_NAME = 100  # ... each named in 1-100 characters
MAX_CHOICE_VALUE = 100  # ... with a string value of at most 100 characters

Autocomplete = Callable[[str, str, str], list[tuple[str, str]]]
"""(command name, option name, typed text) → up to 25 (name shown, value sent) choices."""


class CommandSink(Protocol):
    async def handle_command(self, interaction: discord.Interaction) -> None: ...


class ReadbotTree(app_commands.CommandTree):
    def __init__(self, client: discord.Client, sink: CommandSink) -> None:
        super().__init__(client)
        self.sink = sink

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if interaction.type is discord.InteractionType.autocomplete:
            # a command readbot doesn't (or no longer) know: offer nothing rather than leave it hanging
            if not interaction.response.is_done():
                try:
                    await interaction.response.autocomplete([])
                except discord.HTTPException:
                    log.warning("could not answer an autocomplete request", exc_info=True)
            return
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            await self.sink.handle_command(interaction)
            return
        log.error("slash command failed", exc_info=error)
        if not interaction.response.is_done():
            try:
                await interaction.response.send_message(SORRY, ephemeral=True, allowed_mentions=no_mentions())
            except discord.HTTPException:
                log.exception("could not tell the person about the failure")


def ask_command(sink: CommandSink) -> app_commands.Command:  # type: ignore[type-arg]
    @app_commands.describe(question=QUESTION_DESCRIPTION)
    async def ask(interaction: discord.Interaction, question: str) -> None:
        await sink.handle_command(interaction)

    return app_commands.Command(name="ask", description=ASK_DESCRIPTION, callback=ask)


def text_command(name: str, sink: CommandSink) -> app_commands.Command:  # type: ignore[type-arg]
    @app_commands.describe(text=TEXT_DESCRIPTION)
    async def command(interaction: discord.Interaction, text: str | None = None) -> None:
        await sink.handle_command(interaction)

    return app_commands.Command(name=name, description=f"readbot /{name}", callback=command)


def fit_choices(found: Iterable[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """Choices Discord accepts: names cut to 100 characters, values over 100 dropped, no duplicate
    values, at most 25."""
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for name, value in found:
        if not value or len(value) > MAX_CHOICE_VALUE or value in seen:
            if value and len(value) > MAX_CHOICE_VALUE:
                log.warning("autocomplete choice dropped: its value is over %d characters: %.40r…",
                            MAX_CHOICE_VALUE, value)
            continue
        seen.add(value)
        choices.append(app_commands.Choice(name=shorten(name, MAX_CHOICE_NAME) or value[:MAX_CHOICE_NAME],
                                           value=value))
        if len(choices) == MAX_CHOICES:
            break
    return choices


def autocomplete_callback(command: str, option: str, provider: Autocomplete):  # type: ignore[no-untyped-def]
    """A discord.py autocomplete callback asking ``provider``; a failing provider offers nothing (an
    unanswered autocomplete request shows the person an error)."""

    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            return fit_choices(provider(command, option, current or ""))
        except Exception:
            log.exception("autocomplete for /%s %s failed", command, option)
            return []

    return complete


def poll_command(sink: CommandSink, autocomplete: Autocomplete | None = None) -> app_commands.Command:  # type: ignore[type-arg]
    @app_commands.describe(**POLL_OPTION_DESCRIPTIONS)
    async def poll(interaction: discord.Interaction, claim: str | None = None, options: str | None = None,
                   duration: str | None = None, anonymous: Literal["on", "off"] | None = None,
                   hidden: Literal["on", "off"] | None = None,
                   action: Literal["start", "close"] | None = None) -> None:
        await sink.handle_command(interaction)

    command = app_commands.Command(name="poll", description=POLL_DESCRIPTION, callback=poll)
    if autocomplete is not None:
        command.autocomplete("claim")(autocomplete_callback("poll", "claim", autocomplete))
    return command


def poll_event(event: Command) -> Command:
    """``/poll``'s Discord options → what the core's poll handler reads. ``action:close`` becomes the text
    "close" (the other options don't apply to closing); otherwise the text is empty, so that nothing
    typed as a claim (e.g. one starting with "close") is read as a sub-command. An event from the plain
    ``/poll text:…`` registration (a stale command on Discord's side) is left as it is."""
    raw = event.options
    if "text" in raw:
        return event
    if raw.get("action", "").strip().lower() == CLOSE:
        return replace(event, text=CLOSE, options={})
    fields = {key: value for key in POLL_FIELDS if (value := raw.get(key, "").strip())}
    return replace(event, text="", options=fields)


SHAPES: dict[str, Callable[[Command], Command]] = {"poll": poll_event}


def shape(event: Command) -> Command:
    """A command event with its options mapped for the core (commands with options of their own)."""
    shaper = SHAPES.get(event.name)
    return shaper(event) if shaper is not None else event


def build_tree(client: discord.Client, sink: CommandSink, names: Iterable[str], *,
               autocomplete: Autocomplete | None = None) -> ReadbotTree:
    tree = ReadbotTree(client, sink)
    tree.add_command(ask_command(sink))
    for name in names:
        if name == "ask":
            continue
        if not COMMAND_NAME.match(name):
            log.warning("not registering /%s on Discord: a command name is 1-32 lowercase letters, "
                        "digits, - or _", name)
            continue
        if name == "poll":
            tree.add_command(poll_command(sink, autocomplete))
        else:
            tree.add_command(text_command(name, sink))
    return tree
