"""A recording adapter (the network edge, faked): what readbot would post and edit, in order,
meeting the adapter contract (:class:`bot.core.adapter.ChatAdapter`). It can fail the next
``fail`` posts, as a platform error would."""

from __future__ import annotations

import time

from bot.core.events import MessageRef, Reply, Where


class RecordingAdapter:
    def __init__(self, platform: str = "slack", fail: int = 0) -> None:
        self.platform = platform
        self.sent: list[tuple[Where, Reply]] = []
        self.updates: list[tuple[MessageRef, Reply]] = []
        self.update_times: list[float] = []
        self.fail = fail
        self.attempts = 0
        self.started = self.stopped = False

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

    def questions(self) -> list[str]:
        """The discussion questions posted, in order."""
        return [reply.text.split("\n", 1)[0].removeprefix("Discussion question: ") for _, reply in self.sent]
