"""Posting outside a reply: scheduled posts and message edits go through the adapter
of the event's platform, registered here when it starts; so does fetching a file a person
attached (``fetch``).

What must survive a platform error or a restart (a poll's final card and results) is not sent
from here directly: it is recorded in the database with the decision and delivered by
:class:`bot.store.outbox.DurableOutbox`, which uses this router to reach the platforms. The
helpers below turn neutral replies and places into JSON for those records, and ask an adapter
how long the platform wants it to wait (``Retry-After``) after a failure.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core.adapter import ChatAdapter, UnsupportedOperation
from bot.core.events import Attachment, Button, Channel, Citation, MessageRef, PastMessage, Reply, Visibility, Where

log = logging.getLogger(__name__)

Sent = Callable[[MessageRef, Reply], Awaitable[None]]


class Outbox:
    def __init__(self) -> None:
        self._adapters: dict[str, ChatAdapter] = {}
        self._listeners: list[Sent] = []

    def on_sent(self, listener: Sent) -> None:
        """Call ``listener(ref, reply)`` after every post made through the outbox (e.g. to record
        the threads readbot opens with a prompt)."""
        self._listeners.append(listener)

    def register(self, adapter: ChatAdapter) -> None:
        self._adapters[adapter.platform] = adapter

    def adapter(self, platform: str) -> ChatAdapter:
        try:
            return self._adapters[platform]
        except KeyError:
            raise LookupError(f"no {platform} adapter is running in this process") from None

    def runs(self, platform: str) -> bool:
        return platform in self._adapters

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(self._adapters)

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        ref = await self.adapter(where.channel.platform).send(where, reply)
        for listener in self._listeners:
            try:
                await listener(ref, reply)
            except Exception:  # the post is made; what listens to it must not undo that
                log.exception("a listener to posts failed for %s", ref)
        return ref

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        await self.adapter(ref.where.channel.platform).update(ref, reply)

    async def fetch(self, platform: str, attachment: Attachment, *, limit: int) -> bytes:
        """The file's bytes, through the adapter of the platform it was attached on (raises
        :class:`bot.core.files.FileTooLarge` / :class:`bot.core.files.FileUnavailable`)."""
        return await self.adapter(platform).fetch(attachment, limit=limit)

    def retry_after(self, platform: str, exc: BaseException) -> float | None:
        """Seconds the platform asked readbot to wait after ``exc`` (a 429's Retry-After), if it said;
        adapters that know their platform's errors offer ``retry_after(exc)``."""
        adapter = self._adapters.get(platform)
        read = getattr(adapter, "retry_after", None)
        if read is None:
            return None
        value = read(exc)
        return float(value) if value is not None else None

    def permanent(self, platform: str, exc: BaseException) -> bool:
        """Whether retrying can't help (the channel is gone, the bot was removed): the adapter says
        (``permanent(exc)``); unknown errors are worth retrying."""
        read = getattr(self._adapters.get(platform), "permanent", None)
        return bool(read(exc)) if read is not None else False

    async def history(self, where: Where, *, limit: int) -> list[PastMessage]:
        """A thread's messages through the adapter of its platform; an adapter without the operation
        fails loudly (:class:`UnsupportedOperation`)."""
        adapter = self.adapter(where.channel.platform)
        read = getattr(adapter, "history", None)
        if read is None:
            raise UnsupportedOperation(adapter.platform, "reading a thread's messages (history)")
        messages: list[PastMessage] = await read(where, limit=limit)
        return messages


# ----- JSON for stored deliveries -------------------------------------------------


def where_to_json(where: Where) -> dict[str, Any]:
    return {"platform": where.channel.platform, "channel": where.channel.id, "thread": where.thread_id}


def where_from_json(data: dict[str, Any]) -> Where:
    return Where(Channel(str(data["platform"]), str(data["channel"])), data.get("thread"))


def reply_to_json(reply: Reply) -> dict[str, Any]:
    return {
        "text": reply.text,
        "citations": [[c.section, c.document, c.reading, c.text] for c in reply.citations],
        "buttons": [[b.label, b.action, b.value, b.style] for b in reply.buttons],
        "visibility": reply.visibility.value,
        "image": base64.b64encode(reply.image).decode() if reply.image is not None else None,
        "image_name": reply.image_name,
        "start_thread": reply.start_thread,
        "thread_title": reply.thread_title,
    }


def reply_from_json(data: dict[str, Any]) -> Reply:
    image = data.get("image")
    return Reply(
        text=str(data["text"]),
        citations=tuple(Citation(*c) for c in data.get("citations", [])),
        buttons=tuple(Button(*b) for b in data.get("buttons", [])),
        visibility=Visibility(data.get("visibility", "public")),
        image=base64.b64decode(image) if image else None,
        image_name=str(data.get("image_name", "chart.png")),
        start_thread=bool(data.get("start_thread", False)),
        thread_title=str(data.get("thread_title", "")),
    )
