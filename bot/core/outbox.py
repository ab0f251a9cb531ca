"""Posting outside a reply: scheduled posts and message edits go through the adapter
of the event's platform, registered here when it starts; so does fetching a file a person
attached (``fetch``)."""

from __future__ import annotations

from bot.core.adapter import ChatAdapter
from bot.core.events import Attachment, MessageRef, Reply, Where


class Outbox:
    def __init__(self) -> None:
        self._adapters: dict[str, ChatAdapter] = {}

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
        return await self.adapter(where.channel.platform).send(where, reply)

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        await self.adapter(ref.where.channel.platform).update(ref, reply)

    async def fetch(self, platform: str, attachment: Attachment, *, limit: int) -> bytes:
        """The file's bytes, through the adapter of the platform it was attached on (raises
        :class:`bot.core.files.FileTooLarge` / :class:`bot.core.files.FileUnavailable`)."""
        return await self.adapter(platform).fetch(attachment, limit=limit)
