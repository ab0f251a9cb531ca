"""discord.py objects → neutral events (:mod:`bot.core.events`). No I/O here.

* a message in a thread is ``Where(Channel(parent id), thread_id=thread id)``; elsewhere
  ``Where(Channel(channel id))``;
* a person is an admin when they have Manage Messages in that channel;
* ``event_id`` is the message or interaction id (Discord snowflakes are unique);
* files: a slash command's attachment options (type 11; the files themselves in the interaction's
  ``resolved.attachments``) and a mention's attachments become ``attachments``, each with its URL as
  the id (the adapter fetches it); they are never in ``options``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import discord

from bot.adapters.discord.mentions import to_neutral
from bot.core.events import Attachment, ButtonClick, Channel, Command, Message, MessageRef, PastMessage, User, Where

PLATFORM = "discord"
ATTACHMENT_OPTION = 11  # Discord's application command option type for a file


def where_of(channel: object, channel_id: int | None = None) -> Where:
    """Where a message or interaction happened (a thread is reported with its parent)."""
    if isinstance(channel, discord.Thread):
        parent = channel.parent
        return Where(
            Channel(PLATFORM, str(channel.parent_id), getattr(parent, "name", "") or ""), thread_id=str(channel.id)
        )
    cid = getattr(channel, "id", None) or channel_id
    return Where(Channel(PLATFORM, str(cid), getattr(channel, "name", "") or ""))


def user_of(person: discord.abc.User, *, is_admin: bool) -> User:
    return User(str(person.id), person.display_name, is_bot=person.bot, is_admin=is_admin)


def can_manage_messages(message: discord.Message) -> bool:
    """Manage Messages in the message's channel (a thread uses its parent's permissions)."""
    author = message.author
    if not isinstance(author, discord.Member):
        return False  # a DM, or a user who left
    channel = message.channel
    try:
        if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return channel.permissions_for(author).manage_messages
    except (discord.ClientException, AttributeError):  # a thread whose parent isn't cached
        pass
    return author.guild_permissions.manage_messages


def bot_role_ids(message: discord.Message, bot_id: int) -> set[int]:
    """The bot's managed role(s) mentioned in the message (people often pick the role by mistake)."""
    return {role.id for role in message.role_mentions if role.tags is not None and role.tags.bot_id == bot_id}


def mentions_bot(message: discord.Message, bot_id: int) -> bool:
    return any(user.id == bot_id for user in message.mentions) or bool(bot_role_ids(message, bot_id))


def in_own_thread(message: discord.Message, bot_id: int) -> bool:
    """Posted in a thread the bot created (one of its answers' or prompts' threads)."""
    channel = message.channel
    return isinstance(channel, discord.Thread) and channel.owner_id == bot_id


def strip_bot_mention(content: str, bot_id: int, role_ids: Collection[int] = ()) -> str:
    """The text without the mentions of the bot (others are made neutral by :mod:`.mentions`)."""
    text = re.sub(rf"<@!?{bot_id}>", " ", content)
    for role_id in role_ids:
        text = text.replace(f"<@&{role_id}>", " ")
    return re.sub(r"\s+", " ", text).strip()


def attachment_of(data: Any) -> Attachment | None:
    """A Discord attachment object (raw JSON) → Attachment (id = its URL); None without a URL."""
    if not isinstance(data, dict) or not data.get("url"):
        return None
    size = data.get("size")
    return Attachment(
        id=str(data["url"]),
        name=str(data.get("filename") or "file"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        content_type=str(data.get("content_type") or ""),
    )


def message_event(message: discord.Message, bot_id: int) -> Message:
    text = to_neutral(strip_bot_mention(message.content, bot_id, bot_role_ids(message, bot_id)))
    return Message(
        event_id=str(message.id),
        where=where_of(message.channel),
        user=user_of(message.author, is_admin=can_manage_messages(message)),
        text=text,
        message_id=str(message.id),
        attachments=tuple(
            Attachment(a.url, a.filename, a.size, a.content_type or "") for a in message.attachments if a.url
        ),
    )


def past_message(message: discord.Message, bot_id: int) -> PastMessage:
    """A message of a thread's history → PastMessage (plain text; readbot and other bots marked)."""
    text = to_neutral(strip_bot_mention(message.content, bot_id, bot_role_ids(message, bot_id)))
    author = message.author
    return PastMessage(User(str(author.id), author.display_name, is_bot=author.bot), text, str(message.id))


def _option_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flat(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The options that carry a value; sub-command options are flattened."""
    flat: list[dict[str, Any]] = []
    for option in raw:
        if "value" in option:
            flat.append(option)
        elif option.get("options"):
            flat.extend(_flat(option["options"]))
    return flat


def _options(raw: list[dict[str, Any]]) -> dict[str, str]:
    """Option name → value as text (attachment options aside)."""
    return {
        str(o["name"]): to_neutral(_option_value(o["value"])) for o in _flat(raw) if o.get("type") != ATTACHMENT_OPTION
    }


def _attachments(raw: list[dict[str, Any]], resolved: Any) -> tuple[Attachment, ...]:
    """The files of the attachment options, in the order given, from ``resolved.attachments``."""
    files = resolved.get("attachments") if isinstance(resolved, dict) else None
    found = (
        attachment_of((files or {}).get(str(o["value"]))) for o in _flat(raw) if o.get("type") == ATTACHMENT_OPTION
    )
    return tuple(a for a in found if a is not None)


def interaction_user(interaction: discord.Interaction) -> User:
    return user_of(interaction.user, is_admin=bool(interaction.permissions.manage_messages))


def command_event(interaction: discord.Interaction) -> Command:
    """A slash command from the interaction's raw data (independent of the local command tree, so
    a command Discord still knows but readbot no longer does is routed too)."""
    data: dict[str, Any] = dict(interaction.data or {})
    raw = list(data.get("options") or [])
    options = _options(raw)
    if "text" in options:
        text = options["text"]
    elif len(options) == 1:
        text = next(iter(options.values()))
    else:
        text = ""
    return Command(
        event_id=str(interaction.id),
        where=where_of(interaction.channel, interaction.channel_id),
        user=interaction_user(interaction),
        name=str(data.get("name", "")),
        text=text,
        options=options,
        attachments=_attachments(raw, data.get("resolved")),
    )


def message_command_event(interaction: discord.Interaction, message: discord.Message, bot_id: int) -> Command:
    """ "Ask readbot about this" on ``message`` → ``/ask`` with the message's text (an embed's text when it
    has none) as the question."""
    text = message.content or " ".join(
        part for embed in message.embeds for part in (embed.title, embed.description) if part
    )
    question = to_neutral(strip_bot_mention(text, bot_id, bot_role_ids(message, bot_id)))
    return Command(
        event_id=str(interaction.id),
        where=where_of(interaction.channel, interaction.channel_id),
        user=interaction_user(interaction),
        name="ask",
        text=question,
        options={"question": question},
    )


def click_event(interaction: discord.Interaction, action: str, value: str) -> ButtonClick:
    where = where_of(interaction.channel, interaction.channel_id)
    ref = MessageRef(where, str(interaction.message.id)) if interaction.message is not None else None
    return ButtonClick(
        event_id=str(interaction.id),
        where=where,
        user=interaction_user(interaction),
        action=action,
        value=value,
        message=ref,
    )
