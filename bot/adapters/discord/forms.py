"""Forms (:class:`~bot.core.events.Form`) as Discord modals, and their submissions back as
:class:`~bot.core.events.FormSubmitted`.

A modal is the *first* response to an interaction (a button click, a command), so a form can only be
opened before the interaction is answered or deferred. Only text fields fit a modal here: a form with
selects or toggles raises UnsupportedOperation (its handler falls back as on any platform without one).

The modal's custom id is ``readbot-form:<form id>``; the submission is read from the interaction's raw
data by the client's ``on_interaction`` (not discord.py's per-process modal store), so a modal opened
before a restart is still handled after it. Where it was opened from is the submission's channel.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import discord

from bot.adapters.discord.render import defuse, shorten
from bot.adapters.discord.translate import interaction_user, where_of
from bot.core.adapter import UnsupportedOperation
from bot.core.events import Form, FormSubmitted

PREFIX = "readbot-form:"
MAX_CUSTOM_ID = 100
MAX_TITLE = 45  # a modal's title and a text input's label
MAX_PLACEHOLDER = 100
MAX_INPUT = 4000
MAX_FIELDS = 5
MODAL_TIMEOUT = 900.0  # how long discord.py keeps the modal object; the submission is handled without it


class FormModal(discord.ui.Modal):
    """The modal itself does nothing on submit: the client's ``on_interaction`` routes it."""

    async def on_submit(self, interaction: discord.Interaction) -> None:
        return None


def modal_for(form: Form) -> FormModal:
    custom_id = f"{PREFIX}{form.id}"
    if len(custom_id) > MAX_CUSTOM_ID:
        raise ValueError(f"a Discord modal's custom id is at most {MAX_CUSTOM_ID} characters: {form.id[:40]!r}…")
    if not form.fields or len(form.fields) > MAX_FIELDS or any(f.kind != "text" for f in form.fields):
        raise UnsupportedOperation("discord", "forms with more than five fields or with choices")
    modal = FormModal(
        title=shorten(defuse(form.title), MAX_TITLE) or "readbot", timeout=MODAL_TIMEOUT, custom_id=custom_id
    )
    for field in form.fields:
        modal.add_item(
            discord.ui.TextInput(
                label=shorten(defuse(field.label), MAX_TITLE) or field.id,
                custom_id=field.id,
                style=discord.TextStyle.paragraph if field.multiline else discord.TextStyle.short,
                required=not field.optional,
                default=field.default[:MAX_INPUT] or None,
                placeholder=shorten(defuse(field.hint), MAX_PLACEHOLDER) or None,
                max_length=min(max(field.max_length, 1), MAX_INPUT),
            )
        )
    return modal


def _inputs(components: Any) -> Iterator[tuple[str, str]]:
    """(custom id, value) of every text input in a submission's component tree (action rows, labels)."""
    for item in components if isinstance(components, list) else []:
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("custom_id"), str) and isinstance(item.get("value"), str):
            yield item["custom_id"], item["value"]
        yield from _inputs(item.get("components"))
        if isinstance(item.get("component"), Mapping):
            yield from _inputs([item["component"]])


def submission_event(interaction: discord.Interaction) -> FormSubmitted | None:
    """A modal submission of one of readbot's forms, or None."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = str(data.get("custom_id") or "")
    if not custom_id.startswith(PREFIX) or len(custom_id) == len(PREFIX):
        return None
    return FormSubmitted(
        event_id=str(interaction.id),
        where=where_of(interaction.channel, interaction.channel_id),
        user=interaction_user(interaction),
        form_id=custom_id[len(PREFIX) :],
        values=dict(_inputs(data.get("components"))),
    )
