"""Follow-ups without a mention: in a thread readbot started (one of its answers, a discussion
prompt), a member's message that asks something is answered as if it mentioned readbot; chat
between members that asks nothing is left alone.

Whether a message asks something is decided by :func:`bot.knowledge.asking.asks_something`, from the
form of the words only; a message that mentions someone (``@name``) is addressed to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.core.adapter import Responder
from bot.core.events import Channel, Command, Event, Form, Message, MessageRef, Reply, Visibility
from bot.core.feature import Handler
from bot.knowledge.asking import addresses_someone, asks_something
from bot.store.threads import BotThreads, thread_of

log = logging.getLogger(__name__)

IN_FLIGHT_WAIT = 30.0  # seconds a message in a thread not known yet waits for the channel's answers in flight


class RecordingResponder:
    """A responder that remembers the threads public answers went to (or open), so a member's follow-up
    there is answered without a mention. They are written by :meth:`flush`, once the answer is done (the
    answer isn't held up by the database)."""

    def __init__(self, inner: Responder, threads: BotThreads) -> None:
        self.inner = inner
        self.threads = threads
        self.answered: list[MessageRef] = []

    async def acknowledge(self, *, private: bool = False) -> None:
        await self.inner.acknowledge(private=private)

    async def open_form(self, form: Form) -> None:
        await self.inner.open_form(form)

    async def reply(self, reply: Reply) -> MessageRef | None:
        ref = await self.inner.reply(reply)
        if ref is not None and reply.visibility is Visibility.PUBLIC:
            self.answered.append(ref)
        return ref

    async def flush(self) -> None:
        for ref in self.answered:
            try:
                await self.threads.record(thread_of(ref), "answer")
            except Exception:  # the answer is posted; a follow-up will need a mention, that's all
                log.exception("could not record the thread of answer %s", ref)
        self.answered = []

    def __getattr__(self, name: str) -> object:  # anything else an adapter's responder offers
        return getattr(self.inner, name)


def channel_key(channel: Channel) -> tuple[str, str]:
    return channel.platform, channel.id


class FollowUps:
    """Wraps the Q&A handler: every answer's thread is recorded; a message that doesn't address
    readbot is answered only if it is a question, in a thread readbot started, to nobody else.

    A thread is known once the answer that opened it is recorded, a moment after the answer is posted;
    a member who replies at once in it could be checked before that. So a message in a thread not known
    yet first waits (at most ``in_flight_wait`` seconds) for the answers this process is still giving in
    that channel, then asks again."""

    def __init__(self, answer: Handler, threads: BotThreads | None, *, in_flight_wait: float = IN_FLIGHT_WAIT) -> None:
        """Without ``threads`` (nothing recorded) no message that doesn't address readbot is answered."""
        self.answer = answer
        self.threads = threads
        self.in_flight_wait = in_flight_wait
        self._in_flight: dict[tuple[str, str], set[asyncio.Event]] = {}  # (platform, channel id) → answers

    async def wants_answer(self, message: Message) -> bool:
        if message.addressed:
            return True
        if self.threads is None or not message.where.thread_id:
            return False
        if addresses_someone(message.text) or not asks_something(message.text):
            return False
        if await self.threads.kind(message.where) is not None:
            return True
        pending = self._in_flight.get(channel_key(message.where.channel))
        if not pending:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(done.wait() for done in pending)), self.in_flight_wait)
        return await self.threads.kind(message.where) is not None

    async def __call__(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Message | Command)
        if isinstance(event, Message) and not await self.wants_answer(event):
            return  # members talking among themselves
        if self.threads is None:
            await self.answer(event, responder)
            return
        channel, done = channel_key(event.where.channel), asyncio.Event()
        self._in_flight.setdefault(channel, set()).add(done)
        recording = RecordingResponder(responder, self.threads)
        try:
            await self.answer(event, recording)
        finally:
            try:
                await recording.flush()
            finally:
                done.set()
                pending = self._in_flight.get(channel)
                if pending is not None:
                    pending.discard(done)
                    if not pending:
                        del self._in_flight[channel]
