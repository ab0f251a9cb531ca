"""Slash commands: ``/ask question:<text>`` and, for every other command the dispatcher knows,
``/<name> [text:<text>]``.

The callbacks don't use discord.py's parsed arguments: they hand the interaction to the adapter,
which translates its raw data (:func:`.translate.command_event`). A command Discord still shows
but readbot no longer registers (or registers differently) is routed the same way, so the
dispatcher answers it ("I don't know the command …") instead of the interaction timing out.
"""

# No ``from __future__ import annotations``: discord.py reads the callbacks' annotations.
import logging
import re
from collections.abc import Iterable
from typing import Protocol

import discord
from discord import app_commands

from bot.adapters.discord.render import no_mentions
from bot.core.dispatcher import SORRY

log = logging.getLogger(__name__)

COMMAND_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
ASK_DESCRIPTION = "Ask a question about the reading"
QUESTION_DESCRIPTION = "What do you want to know?"
TEXT_DESCRIPTION = "Text for the command (optional)"


class CommandSink(Protocol):
    async def handle_command(self, interaction: discord.Interaction) -> None: ...


class ReadbotTree(app_commands.CommandTree):
    def __init__(self, client: discord.Client, sink: CommandSink) -> None:
        super().__init__(client)
        self.sink = sink

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
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


def build_tree(client: discord.Client, sink: CommandSink, names: Iterable[str]) -> ReadbotTree:
    tree = ReadbotTree(client, sink)
    tree.add_command(ask_command(sink))
    for name in names:
        if name == "ask":
            continue
        if not COMMAND_NAME.match(name):
            log.warning("not registering /%s on Discord: a command name is 1-32 lowercase letters, "
                        "digits, - or _", name)
            continue
        tree.add_command(text_command(name, sink))
    return tree
