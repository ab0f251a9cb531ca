"""A recording adapter (the network edge, faked): what readbot would post and edit, in order,
meeting the adapter contract (:class:`bot.core.adapter.ChatAdapter`). It can fail the next
``fail`` posts, as a platform error would; ``files`` (attachment id → bytes) is what ``fetch`` serves."""

from __future__ import annotations

import time

from bot.core.events import Attachment, MessageRef, Reply, Where
from bot.core.files import FileUnavailable, check_size


class RecordingAdapter:
    def __init__(self, platform: str = "slack", fail: int = 0) -> None:
        self.platform = platform
        self.sent: list[tuple[Where, Reply]] = []
        self.updates: list[tuple[MessageRef, Reply]] = []
        self.update_times: list[float] = []
        self.fail = fail
        self.attempts = 0
        self.started = self.stopped = False
        self.files: dict[str, bytes] = {}

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def connected(self) -> bool:
        return self.started and not self.stopped

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        self.attempts += 1
        if self.fail:
            self.fail -= 1
            raise RuntimeError("platform error: 503 service unavailable")
        self.sent.append((where, reply))
        return MessageRef(where, f"msg-{len(self.sent)}")

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        self.updates.append((ref, reply))
        self.update_times.append(time.monotonic())

    async def fetch(self, attachment: Attachment, *, limit: int) -> bytes:
        check_size(attachment.name, attachment.size, limit)
        if attachment.id not in self.files:
            raise FileUnavailable(attachment.name, "no such file", source=self.platform)
        data = self.files[attachment.id]
        check_size(attachment.name, len(data), limit)
        return data

    def questions(self) -> list[str]:
        """The discussion questions posted, in order."""
        return [reply.text.split("\n", 1)[0].removeprefix("Discussion question: ") for _, reply in self.sent]
