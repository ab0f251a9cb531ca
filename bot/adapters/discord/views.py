"""Buttons that keep working after a restart.

Every readbot button is an :class:`ActionButton`: a discord.py ``DynamicItem`` whose custom id is
``"action|value"`` (:mod:`.custom_ids`). The client registers the class once
(``add_dynamic_items``), so a click on *any* custom id of that form, on any message the bot ever
posted, is parsed and handed to the client's ``click_handler`` – no per-message view state is
needed. :class:`ReplyView` is the persistent view (``timeout=None``) a reply's buttons are sent in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

import discord

from bot.adapters.discord import custom_ids
from bot.core.events import Button

log = logging.getLogger(__name__)

MAX_BUTTONS = 25  # 5 rows of 5
MAX_LABEL = 80
STYLES = {
    "default": discord.ButtonStyle.secondary,
    "primary": discord.ButtonStyle.primary,
    "danger": discord.ButtonStyle.danger,
}


class ClickHandler(Protocol):
    async def handle_click(self, interaction: discord.Interaction, action: str, value: str) -> None: ...


class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=custom_ids.TEMPLATE):
    def __init__(
        self, action: str, value: str, *, label: str = "", style: discord.ButtonStyle = discord.ButtonStyle.secondary
    ) -> None:
        label = (label or value or action)[:MAX_LABEL]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_ids.encode(action, value)))
        self.action, self.value = action, value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /
    ) -> ActionButton:
        return cls(
            match["action"],
            match["value"],
            label=getattr(item, "label", None) or "",
            style=getattr(item, "style", discord.ButtonStyle.secondary),
        )

    async def callback(self, interaction: discord.Interaction) -> None:
        handler: ClickHandler | None = getattr(interaction.client, "click_handler", None)
        if handler is None:
            log.warning("button %r clicked but the client has no click handler", self.custom_id)
            return
        await handler.handle_click(interaction, self.action, self.value)


class ReplyView(discord.ui.View):
    """A persistent view (no timeout, stable custom ids) holding a reply's buttons."""

    def __init__(self, buttons: Sequence[Button]) -> None:
        super().__init__(timeout=None)
        if len(buttons) > MAX_BUTTONS:
            raise ValueError(f"a Discord message holds at most {MAX_BUTTONS} buttons, got {len(buttons)}")
        for button in buttons:
            self.add_item(
                ActionButton(
                    button.action,
                    button.value,
                    label=button.label,
                    style=STYLES.get(button.style, discord.ButtonStyle.secondary),
                )
            )
