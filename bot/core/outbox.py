"""Posting outside a reply: scheduled posts and message edits go through the adapter
of the event's platform, registered here when it starts; so does fetching a file a person
attached (``fetch``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.core.adapter import ChatAdapter, UnsupportedOperation
from bot.core.events import Attachment, MessageRef, PastMessage, Reply, Where

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

    async def history(self, where: Where, *, limit: int) -> list[PastMessage]:
        """A thread's messages through the adapter of its platform; an adapter without the operation
        fails loudly (:class:`UnsupportedOperation`)."""
        adapter = self.adapter(where.channel.platform)
        read = getattr(adapter, "history", None)
        if read is None:
            raise UnsupportedOperation(adapter.platform, "reading a thread's messages (history)")
        messages: list[PastMessage] = await read(where, limit=limit)
        return messages
