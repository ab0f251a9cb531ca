"""Slack payloads → neutral events. Pure functions: no I/O, no SDK objects.

Every function takes the decoded JSON Slack sent (an Events API envelope, a slash
command form, a ``block_actions`` or ``view_submission`` payload) and returns a :mod:`bot.core.events` type,
or ``None`` when the payload is not something readbot acts on.

Files: a message's ``files`` (a mention or DM posted with files) become ``Message.attachments``
(their ids, fetched later through ``files.info``); :func:`recent_attachment` picks, out of a
``files.list`` answer, the file a command that asks for one gets.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from bot.adapters.slack.manifest import UMBRELLA
from bot.adapters.slack.mentions import to_neutral
from bot.core.events import (
    Attachment,
    ButtonClick,
    Channel,
    Command,
    FormSubmitted,
    Message,
    MessageRef,
    PastMessage,
    User,
    Where,
)
from bot.core.help import NAME as HELP

PLATFORM = "slack"
JsonDict = Mapping[str, Any]

# Message subtypes that still are a person writing to the bot (others: edits, joins, ...).
PERSON_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
# A button's action_id is Button.action, plus "#<n>" when the same action appears more
# than once in a message (Slack wants action_ids unique within a block).
ACTION_SUFFIX = re.compile(r"#\d+$")
_CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def unescape(text: str) -> str:
    """Slack escapes &, < and > in message text; undo it (``&amp;`` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_plain(text: str) -> str:
    """Slack message markup → plain text: links become their label (or URL), channel
    references ``#name``, mentions neutral ``@name`` words (:mod:`.mentions`), which the core
    strips from questions or defuses."""
    text = _CHANNEL_REF.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return unescape(to_neutral(text))


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    """The text without mentions of the bot (``<@UBOT>``, ``<@UBOT|readbot>``)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def is_bot_event(event: JsonDict, bot_user_id: str | None = None) -> bool:
    """Written by a bot: another app (``bot_id`` / ``bot_message``) or readbot itself."""
    return (
        bool(event.get("bot_id"))
        or event.get("subtype") == "bot_message"
        or (bot_user_id is not None and event.get("user") == bot_user_id)
    )


def _user_of_event(event: JsonDict, bot_user_id: str | None) -> User:
    user_id = str(event.get("user") or event.get("bot_id") or "")
    name = str(event.get("username") or "")
    return User(user_id, name, is_bot=is_bot_event(event, bot_user_id))


def attachment_of(file: JsonDict) -> Attachment | None:
    """A Slack file object → Attachment (id = the file id); None for a deleted file (a tombstone)."""
    file_id = file.get("id")
    if not file_id or file.get("mode") == "tombstone":
        return None
    size = file.get("size")
    return Attachment(
        id=str(file_id),
        name=str(file.get("name") or file.get("title") or file_id),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        content_type=str(file.get("mimetype") or ""),
    )


def attachments_of(event: JsonDict) -> tuple[Attachment, ...]:
    files = event.get("files") or []
    found = (attachment_of(f) for f in files if isinstance(f, Mapping))
    return tuple(a for a in found if a is not None)


def recent_attachment(files: object, since: float) -> Attachment | None:
    """The newest file of a ``files.list`` answer created at or after ``since`` (epoch seconds)."""
    candidates: list[tuple[float, Attachment]] = []
    for file in files if isinstance(files, list) else []:
        if not isinstance(file, Mapping):
            continue
        created = file.get("created") or file.get("timestamp")
        attachment = attachment_of(file)
        if attachment is not None and isinstance(created, int | float) and created >= since:
            candidates.append((float(created), attachment))
    return max(candidates, key=lambda pair: pair[0])[1] if candidates else None


def _message(body: JsonDict, event: JsonDict, bot_user_id: str | None) -> Message:
    """The Message of a mention or DM event: in the thread it was posted in, if any."""
    text = strip_bot_mention(str(event.get("text") or ""), bot_user_id)
    where = Where(Channel(PLATFORM, str(event["channel"])), thread_id=event.get("thread_ts"))
    return Message(
        event_id=str(body.get("event_id") or ""),
        where=where,
        user=_user_of_event(event, bot_user_id),
        text=to_plain(text),
        message_id=str(event.get("ts") or ""),
        attachments=attachments_of(event),
    )


def message_from_mention(body: JsonDict, bot_user_id: str | None) -> Message:
    """An ``app_mention`` envelope → Message (in the thread it was posted in, if any)."""
    return _message(body, body["event"], bot_user_id)


def message_from_dm(body: JsonDict, bot_user_id: str | None) -> Message | None:
    """A ``message`` envelope → Message if it is written in a DM with the bot; None for
    channel messages (those reach readbot as ``app_mention``), edits, deletions, joins."""
    event = body["event"]
    if event.get("channel_type") != "im":
        return None
    subtype = event.get("subtype")
    if subtype is not None and subtype not in PERSON_SUBTYPES and subtype != "bot_message":
        return None
    return _message(body, event, bot_user_id)


def message_from_thread(body: JsonDict, bot_user_id: str | None) -> Message | None:
    """A ``message`` envelope → Message(addressed=False) if it is a person's reply in a channel thread
    that doesn't mention the bot (a possible follow-up); None for top-level messages, edits, joins,
    bots' messages and mentions of the bot (those arrive as ``app_mention`` too)."""
    event = body["event"]
    if event.get("channel_type") not in ("channel", "group"):
        return None
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not thread_ts or thread_ts == ts:
        return None
    subtype = event.get("subtype")
    if (subtype is not None and subtype not in PERSON_SUBTYPES) or is_bot_event(event, bot_user_id):
        return None
    if bot_user_id and f"<@{bot_user_id}" in str(event.get("text") or ""):
        return None
    return dataclasses.replace(_message(body, event, bot_user_id), addressed=False)


def past_message(message: JsonDict, bot_user_id: str | None) -> PastMessage:
    """One message of a ``conversations.replies`` answer → PastMessage (plain text, bots marked)."""
    return PastMessage(
        _user_of_event(message, bot_user_id),
        to_plain(strip_bot_mention(str(message.get("text") or ""), bot_user_id)),
        str(message.get("ts") or ""),
    )


MENTION_COMMAND = re.compile(r"^/([a-z][\w-]*)(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)


def command_in_mention(message: Message, known: Collection[str]) -> Command | None:
    """A mention that is a known command ("@readbot /recap") → that Command, where it was written (in
    its thread, if any: Slack runs no slash command in a thread, so this is how /recap reaches one);
    None otherwise."""
    found = MENTION_COMMAND.match(message.text.strip())
    if found is None or found.group(1).lower() not in known:
        return None
    return Command(
        event_id=message.event_id,
        where=message.where,
        user=message.user,
        name=found.group(1).lower(),
        text=(found.group(2) or "").strip(),
    )


def command_from_payload(payload: JsonDict) -> Command:
    """A slash command form (``command=/ask&text=...``) → Command (name without "/").

    Slash commands carry no event id; the per-invocation ``trigger_id`` stands in."""
    channel = Channel(PLATFORM, str(payload.get("channel_id") or ""), str(payload.get("channel_name") or ""))
    name = str(payload.get("command") or "").lstrip("/").strip().lower()
    text = to_plain(str(payload.get("text") or "")).strip()
    if name == UMBRELLA:  # /readbot help, /readbot poll …: the first word is the command
        word, _, text = text.partition(" ")
        name, text = word.lstrip("/").lower() or HELP, text.strip()
    return Command(
        event_id=str(payload.get("trigger_id") or ""),
        where=Where(channel),
        user=User(str(payload.get("user_id") or ""), str(payload.get("user_name") or "")),
        name=name,
        text=text,
    )


def action_of(action_id: str) -> str:
    """The neutral action of a rendered button's action_id (drops a ``#n`` suffix)."""
    return ACTION_SUFFIX.sub("", action_id)


def click_from_payload(body: JsonDict) -> ButtonClick | None:
    """A ``block_actions`` payload → ButtonClick on its first action (None if none)."""
    actions = body.get("actions") or []
    if body.get("type") != "block_actions" or not actions:
        return None
    action = actions[0]
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel_id = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    channel = Channel(PLATFORM, channel_id, str((body.get("channel") or {}).get("name") or ""))
    where = Where(channel, thread_id=message.get("thread_ts"))
    message_ts = container.get("message_ts") or message.get("ts")
    ref = MessageRef(where, str(message_ts)) if message_ts else None
    user = body.get("user") or {}
    return ButtonClick(
        event_id=str(body.get("trigger_id") or action.get("action_ts") or ""),
        where=where,
        user=User(str(user.get("id") or ""), str(user.get("username") or user.get("name") or "")),
        action=action_of(str(action.get("action_id") or "")),
        value=str(action.get("value") or ""),
        message=ref,
    )


def where_from_metadata(raw: object) -> Where | None:
    """The place a modal was opened from, out of its ``private_metadata`` (written by
    :func:`bot.adapters.slack.render.form_metadata`); None if it holds none."""
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("channel"), str) or not data["channel"]:
        return None
    thread = data.get("thread_ts")
    name = data.get("channel_name")
    return Where(
        Channel(PLATFORM, data["channel"], name if isinstance(name, str) else ""),
        thread_id=thread if isinstance(thread, str) and thread else None,
    )


def element_value(element: JsonDict) -> str:
    """What one input element of ``view.state.values`` holds, as text: a text input's
    ``value``, a select's ``selected_option`` value, several selected values joined by
    commas; "" when nothing is filled in or chosen."""
    if "selected_option" in element:
        return str((element.get("selected_option") or {}).get("value") or "")
    if "selected_options" in element:
        return ",".join(str(o.get("value") or "") for o in element.get("selected_options") or [])
    if "value" in element:
        return str(element.get("value") or "")
    return next((v for k, v in element.items() if k.startswith("selected_") and isinstance(v, str)), "")


def form_values(state_values: JsonDict) -> dict[str, str]:
    """``view.state.values`` ({block_id: {action_id: element}}) → {action_id: text}."""
    values: dict[str, str] = {}
    for block_id, actions in (state_values or {}).items():
        if not isinstance(actions, Mapping):
            continue
        for action_id, element in actions.items():
            if isinstance(element, Mapping):
                values[str(action_id or block_id)] = element_value(element)
    return values


def submission_from_payload(body: JsonDict) -> FormSubmitted | None:
    """A ``view_submission`` payload → FormSubmitted (form_id = the view's callback_id,
    where = from its private_metadata); None if it is not a form readbot opened."""
    view = body.get("view") or {}
    if body.get("type") != "view_submission" or not view.get("callback_id"):
        return None
    where = where_from_metadata(view.get("private_metadata"))
    if where is None:
        return None
    user = body.get("user") or {}
    # every submission has its own trigger_id; a view's id + hash identifies one version
    event_id = str(body.get("trigger_id") or f"{view.get('id') or ''}:{view.get('hash') or ''}")
    return FormSubmitted(
        event_id=event_id,
        where=where,
        user=User(str(user.get("id") or ""), str(user.get("username") or user.get("name") or "")),
        form_id=str(view["callback_id"]),
        values=form_values((view.get("state") or {}).get("values") or {}),
    )
