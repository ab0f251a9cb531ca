"""Slash commands built from the features' neutral declarations (:mod:`bot.core.commands`).

Each declared option becomes a string parameter; a closed set of values becomes choices, and an
option with suggestions gets autocomplete; a "file" option becomes an attachment parameter (option
type 11: the person picks a file in Discord's command bar). The callbacks don't use discord.py's parsed
arguments: they hand the interaction to the adapter, which translates its raw data
(:func:`.translate.command_event`): ``Command.options`` keyed by the declared names, the files in
``Command.attachments``. A command Discord still shows but readbot no longer
registers (or registers differently) is routed the same way, so the dispatcher answers it ("I don't know
the command …") instead of the interaction timing out.
"""

# No ``from __future__ import annotations``: discord.py reads the callbacks' annotations.
import inspect
import logging
import re
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Literal, Optional, Protocol

import discord
from discord import app_commands

from bot.adapters.discord.render import no_mentions, shorten
from bot.core.commands import CommandSpec, Suggest
from bot.core.dispatcher import SORRY

log = logging.getLogger(__name__)

COMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
MAX_DESCRIPTION = 100  # a command's or option's description

MAX_CHOICES = 25  # Discord: at most 25 autocomplete choices
MAX_CHOICE_NAME = 100  # ... each named in 1-100 characters
MAX_CHOICE_VALUE = 100  # ... with a string value of at most 100 characters

AutocompleteCallback = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]]


class CommandSink(Protocol):
    async def handle_command(self, interaction: discord.Interaction) -> None: ...

    async def handle_message_command(self, interaction: discord.Interaction, message: discord.Message) -> None: ...


ASK_ABOUT = "Ask readbot about this"  # a message's context menu (Apps → …): /ask on the selected message
ASKS = "ask"  # the neutral command it stands for


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


def fit_choices(found: Iterable[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """Choices Discord accepts: names cut to 100 characters, values over 100 dropped, no duplicate
    values, at most 25."""
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for name, value in found:
        if not value or len(value) > MAX_CHOICE_VALUE or value in seen:
            if value and len(value) > MAX_CHOICE_VALUE:
                log.warning(
                    "autocomplete choice dropped: its value is over %d characters: %.40r…", MAX_CHOICE_VALUE, value
                )
            continue
        seen.add(value)
        choices.append(app_commands.Choice(name=shorten(name, MAX_CHOICE_NAME) or value[:MAX_CHOICE_NAME], value=value))
        if len(choices) == MAX_CHOICES:
            break
    return choices


def autocomplete_callback(command: str, option: str, suggest: Suggest) -> AutocompleteCallback:
    """A discord.py autocomplete callback asking the option's ``suggest``; a failing one offers nothing
    (an unanswered autocomplete request shows the person an error)."""

    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        try:
            return fit_choices(suggest(current or ""))
        except Exception:
            log.exception("autocomplete for /%s %s failed", command, option)
            return []

    return complete


def spec_command(spec: CommandSpec, sink: CommandSink) -> app_commands.Command:
    """A Discord application command built from a neutral declaration: each option a string
    parameter (a closed set of values as choices; suggestions as autocomplete), a file option an
    attachment parameter."""

    async def callback(interaction: discord.Interaction, **_: Any) -> None:
        await sink.handle_command(interaction)

    parameters = [
        inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    ]
    for option in spec.options:
        kind: Any
        if option.kind == "file":
            kind = discord.Attachment
        else:
            kind = Literal.__getitem__(option.choices) if option.choices else str
        parameters.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=kind if option.required else Optional[kind],  # noqa: UP045 (a runtime annotation)
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    if spec.options:
        app_commands.describe(**{o.name: shorten(o.description, MAX_DESCRIPTION) for o in spec.options})(callback)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=spec.name, description=shorten(spec.description, MAX_DESCRIPTION), callback=callback
    )
    for option in spec.options:
        if option.suggest is not None:
            command.autocomplete(option.name)(autocomplete_callback(spec.name, option.name, option.suggest))
    return command


def ask_about_menu(sink: CommandSink) -> app_commands.ContextMenu:
    """The message context-menu command "Ask readbot about this": /ask with the selected message."""

    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        await sink.handle_message_command(interaction, message)

    return app_commands.ContextMenu(name=ASK_ABOUT, callback=callback)


def context_menus(specs: Iterable[CommandSpec]) -> tuple[str, ...]:
    """The context-menu commands registered alongside the slash commands (part of what is synced)."""
    return (ASK_ABOUT,) if any(spec.name == ASKS for spec in specs) else ()


def build_tree(client: discord.Client, sink: CommandSink, specs: Iterable[CommandSpec]) -> ReadbotTree:
    tree = ReadbotTree(client, sink)
    specs = tuple(specs)
    if context_menus(specs):
        tree.add_command(ask_about_menu(sink))
    for spec in specs:
        if not COMMAND_NAME.match(spec.name):
            log.warning(
                "not registering /%s on Discord: a command name is 1-32 lowercase letters, digits, - or _", spec.name
            )
            continue
        tree.add_command(spec_command(spec, sink))
    return tree
