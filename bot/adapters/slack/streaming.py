"""An LLM answer streamed into the assistant panel (slack_sdk's ``chat_stream``: chat.startStream,
appendStream, stopStream): the text appears as the model writes it, then the stream is finished with
the final reply (whatever readbot changed in the end is appended; the citation goes in the blocks at
the bottom). Text is sent only up to its last whitespace outside ``<…>``, so a mention is never cut
in two, and every piece is made inert like any other text readbot posts (:func:`.render.safe_mrkdwn`).
Nothing streamed (no LLM, the extractive answer): the reply is posted as usual."""

from __future__ import annotations

import asyncio
import logging
import re

from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.render import render, safe_mrkdwn
from bot.adapters.slack.responders import Outbox, ThreadResponder
from bot.core.events import MessageRef, Reply, User, Visibility, Where
from bot.core.text import ZWSP

log = logging.getLogger(__name__)

STREAM_BUFFER = 64  # characters slack_sdk gathers before an appendStream call
_SPACE = re.compile(r"\s")


def ready_part(buffer: str) -> int:
    """How much of ``buffer`` can be sent: up to its last whitespace not inside ``<…>``."""
    for match in reversed(list(_SPACE.finditer(buffer))):
        head = buffer[: match.end()]
        if head.rfind("<") <= head.rfind(">"):
            return match.end()
    return 0


class AnswerStream:
    def __init__(self, client: AsyncWebClient, where: Where, user: User, team_id: str | None) -> None:
        self.client = client
        self.where = where
        self.user = user
        self.team_id = team_id
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.streamer: AsyncChatStream | None = None
        self.sent = ""  # the plain text streamed so far
        self._pending = ""
        self.closed = False

    def sink(self, text: str) -> None:
        """Called from the LLM's worker thread with each piece of text."""
        self.loop.call_soon_threadsafe(self._push, text)

    def _push(self, text: str) -> None:
        if self.closed:  # the model went on after readbot gave up on it (a timeout): the reply is out
            return
        if self.task is None:
            self.task = asyncio.create_task(self._pump(), name="slack-answer-stream")
        self.queue.put_nowait(text)

    async def _pump(self) -> None:
        assert self.where.thread_id is not None
        self.streamer = await self.client.chat_stream(
            channel=self.where.channel.id,
            thread_ts=self.where.thread_id,
            recipient_team_id=self.team_id,
            recipient_user_id=self.user.id,
            buffer_size=STREAM_BUFFER,
        )
        while (text := await self.queue.get()) is not None:
            self._pending += text
            cut = ready_part(self._pending)
            if cut:
                part, self._pending = self._pending[:cut], self._pending[cut:]
                await self.streamer.append(markdown_text=safe_mrkdwn(part))
                self.sent += part

    async def finish(self, reply: Reply) -> MessageRef | None:
        """Finish the stream with ``reply``; None if nothing was streamed (post the reply as usual)."""
        self.closed = True
        if self.task is None:
            return None
        self.queue.put_nowait(None)
        await self.task
        assert self.streamer is not None
        final, sent = reply.text.replace(ZWSP, ""), self.sent.lstrip()
        # what readbot changed at the end (a fallback, a dropped line) is appended whole: nothing lost
        rest = final[len(sent) :] if final.startswith(sent) else "\n\n" + final
        # the citation and the buttons (👍/👎 feedback) close the streamed message
        shown = Reply("·", citations=reply.citations, buttons=reply.buttons)
        blocks = [b for b in render(shown).blocks if b["type"] != "section"]
        response = await self.streamer.stop(
            markdown_text=safe_mrkdwn(rest) if rest.strip() else None, blocks=blocks or None
        )
        return MessageRef(self.where, str(response.get("ts") or self.streamer.ts or ""))


class StreamingResponder(ThreadResponder):
    """Answers in the assistant thread: a public reply finishes the stream when text was streamed (else,
    or if streaming failed, it is posted as usual)."""

    def __init__(self, outbox: Outbox, where: Where, user: User, stream: AnswerStream) -> None:
        super().__init__(outbox, where, user)
        self.stream = stream

    async def reply(self, reply: Reply) -> MessageRef | None:
        if reply.visibility is Visibility.PUBLIC and reply.image is None:
            try:
                ref = await self.stream.finish(reply)
            except Exception:
                log.warning("slack: streaming the answer failed; posting it whole", exc_info=True)
                ref = None
            if ref is not None:
                return ref
        return await super().reply(reply)
