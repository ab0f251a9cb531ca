"""Neutral types: what adapters translate platform events into, and replies out of.

Adapters own every platform detail (ids' formats, threads, length limits, markup);
handlers only see these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class User:
    id: str
    name: str = ""
    is_bot: bool = False
    is_admin: bool = False  # platform-side moderator (Slack admin/owner, Discord Manage Messages)


@dataclass(frozen=True)
class Channel:
    platform: str  # "slack" | "discord" | "console"
    id: str
    name: str = ""


@dataclass(frozen=True)
class Where:
    """A place to post: a channel, optionally inside a thread."""

    channel: Channel
    thread_id: str | None = None


@dataclass(frozen=True)
class MessageRef:
    """A message the bot posted, so it can be edited later."""

    where: Where
    message_id: str


# ----- incoming ------------------------------------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file a person attached to a message or command. ``id`` is whatever the adapter of the
    event's platform needs to fetch it (a Slack file id, a Discord attachment URL, a console path):
    handlers don't read it, they pass the attachment to ``Outbox.fetch``. ``size`` is what the
    platform declared, if anything (the download is bounded regardless)."""

    id: str
    name: str
    size: int | None = None
    content_type: str = ""


@dataclass(frozen=True)
class Message:
    """A message that mentions the bot (or any message in a DM with it), or, with
    ``addressed=False``, a member's message in a thread that doesn't mention readbot (a possible
    follow-up: the Q&A feature answers it only in a thread readbot started, and only if it asks
    something)."""

    event_id: str
    where: Where
    user: User
    text: str  # with the mention of the bot removed
    message_id: str = ""
    attachments: tuple[Attachment, ...] = ()
    addressed: bool = True


@dataclass(frozen=True)
class Command:
    """A slash command: /ask, /poll, /prompt."""

    event_id: str
    where: Where
    user: User
    name: str  # without the slash
    text: str = ""
    options: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()  # what the command's "file" options carried


@dataclass(frozen=True)
class ButtonClick:
    event_id: str
    where: Where
    user: User
    action: str  # e.g. "poll:vote"
    value: str  # e.g. "<poll id>:<option index>"
    message: MessageRef | None = None


@dataclass(frozen=True)
class FormSubmitted:
    """A person filled in a form readbot opened (a Slack modal)."""

    event_id: str
    where: Where  # the channel the form was opened from
    user: User
    form_id: str  # e.g. "poll:new"; the part before ":" routes it
    values: dict[str, str] = field(default_factory=dict)


Event = Message | Command | ButtonClick | FormSubmitted


@dataclass(frozen=True)
class PastMessage:
    """One message of a thread as the platform keeps it (:meth:`ChatAdapter.history`), oldest first:
    its author (``is_bot`` for readbot and other apps) and its plain text."""

    user: User
    text: str
    message_id: str = ""


# ----- outgoing ------------------------------------------------------------------


class Visibility(Enum):
    PUBLIC = "public"
    PRIVATE = "private"  # only the person who asked sees it (ephemeral)


@dataclass(frozen=True)
class Citation:
    section: str
    document: str
    reading: str
    text: str = ""


@dataclass(frozen=True)
class Button:
    label: str
    action: str
    value: str
    style: str = "default"  # "default" | "primary" | "danger"


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    kind: str = "text"  # "text" | "select" | "toggle"
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) for "select"
    default: str = ""
    optional: bool = True
    multiline: bool = False
    max_length: int = 300
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """A form to fill in (Slack renders a modal). Submitting it yields FormSubmitted
    with ``values`` keyed by field id and the ``where`` it was opened from."""

    id: str
    title: str
    submit: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class Reply:
    """Something to post. Adapters render it; text is plain (no platform markup)."""

    text: str
    citations: tuple[Citation, ...] = ()
    buttons: tuple[Button, ...] = ()
    visibility: Visibility = Visibility.PUBLIC
    image: bytes | None = None  # a PNG (poll results chart)
    image_name: str = "chart.png"
    start_thread: bool = False  # e.g. a daily prompt: the post opens a thread
    thread_title: str = ""
