"""The adapter contract: what a chat platform must do for readbot, and nothing more.

An adapter translates platform events into :mod:`bot.core.events` and hands each to
the dispatcher together with a :class:`Responder` bound to that event (so a reply
lands where the platform expects it: a Slack thread, a Discord interaction follow-up).
Operations a platform can't do raise :class:`UnsupportedOperation` loudly instead of
silently doing something else. Files people attach are fetched through the adapter of their
platform too (:meth:`ChatAdapter.fetch`), so platform auth stays at the edge.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.core.events import Attachment, Form, MessageRef, PastMessage, Reply, Where


class UnsupportedOperation(NotImplementedError):
    def __init__(self, platform: str, operation: str) -> None:
        super().__init__(f"{platform} adapter does not support {operation}")


@runtime_checkable
class Responder(Protocol):
    """Answers one incoming event. ``reply`` honours ``Reply.visibility``: a private
    reply is seen only by the person who triggered the event."""

    async def reply(self, reply: Reply) -> MessageRef | None: ...

    async def acknowledge(self, *, private: bool = False) -> None:
        """Tell the platform the event is being worked on (Discord defer; Slack ack). ``private``: the
        answer will be for this person only (Discord: an ephemeral "thinking…", never a public one)."""

    async def open_form(self, form: Form) -> None:
        """Show a form to the person (Slack: a modal from the command's trigger).
        Raises UnsupportedOperation where the platform or event has none."""


class ChatAdapter(Protocol):
    platform: str

    async def start(self) -> None:
        """Connect; returns once the platform can reach readbot (or raises a ReadbotError)."""

    async def stop(self) -> None:
        """Stop taking events, let the ones being handled finish (bounded), disconnect."""

    async def connected(self) -> bool:
        """Whether the platform can reach readbot right now (readiness)."""

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        """Post in a channel or thread (a scheduled prompt, a poll, results)."""

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        """Edit a message the bot posted (a poll's live tally)."""

    async def fetch(self, attachment: Attachment, *, limit: int) -> bytes:
        """The bytes of a file attached to one of this platform's events, at most ``limit`` of them.
        Raises :class:`bot.core.files.FileTooLarge` (its declared size first, then while reading: never
        more than ``limit + 1`` bytes are read) or :class:`bot.core.files.FileUnavailable`, each with one
        line fit to show the person. Never blocks the event loop."""

    async def history(self, where: Where, *, limit: int) -> list[PastMessage]:
        """The thread ``where.thread_id`` (its opening message first, then the replies, oldest first), at
        most ``limit`` messages, in plain text (a thread recap). An adapter that can't read a thread's
        messages raises :class:`UnsupportedOperation`."""


class State(Protocol):
    """Named values an adapter keeps between runs (the hash of the commands it last synced)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...
