"""The Q&A handler: a mention of readbot or ``/ask`` → a retrieval-augmented answer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.ask.record import AnswerRecorder, asks_privately
from bot.core.adapter import Responder
from bot.core.events import Citation, Command, Event, Message, Reply
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.text import clean_question
from bot.errors import InputError
from bot.knowledge.answer import Answer
from bot.knowledge.service import KnowledgeService
from bot.store.history import ThreadHistory


def answer_reply(answer: Answer) -> Reply:
    """The neutral reply: the answer and one citation per section it quotes (two for a question
    that spans two sections), each with the passage it drew from."""
    if not answer.grounded:
        return Reply(text=answer.body)
    quoted: dict[tuple[str, str, str], Citation] = {}
    for p in answer.evidence:
        quoted.setdefault((p.reading, p.document, p.section), Citation(p.section, p.document, p.reading, p.text))
    if not quoted:
        quoted = {
            (s.reading, s.document, s.section): Citation(s.section, s.document, s.reading, s.text)
            for s in answer.sources[:1]
        }
    return Reply(text=answer.body, citations=tuple(quoted.values())[:2])


CurrentReading = Callable[[str, str], Awaitable[str | None]]
Progress = Callable[[str, str], Awaitable[int | None]]


class AskHandler:
    """Answers a mention or /ask. Blocking work runs in a worker thread."""

    def __init__(
        self,
        knowledge: KnowledgeService,
        history: ThreadHistory | None = None,
        *,
        metrics: Metrics = NO_METRICS,
        current_reading: CurrentReading | None = None,
        progress: Progress | None = None,
        recorder: AnswerRecorder | None = None,
    ) -> None:
        """``current_reading(platform, channel)``: the channel's reading, searched first;
        ``progress(platform, channel)``: how far the channel has read it (section order), or None.
        ``recorder``: rate limits, the answers kept for feedback and /insights, their buttons
        (:mod:`bot.ask.record`)."""
        self.knowledge = knowledge
        self.history = history
        self.metrics = metrics
        self.current_reading = current_reading
        self.progress = progress
        self.recorder = recorder

    @staticmethod
    def thread_key(event: Message | Command) -> str:
        where = event.where
        thread = where.thread_id or (event.message_id if isinstance(event, Message) else "")
        return f"{where.channel.platform}:{where.channel.id}:{thread}"

    def _answer(
        self, question: str, thread_key: str | None, reading: str | None = None, upto: int | None = None
    ) -> Answer:
        """Blocking (history, embedding, Chroma, LLM): one trip to a worker thread. With a channel
        reading, that reading is searched first; when only another reading covers the question, the
        answer says which one it comes from."""
        history = self.history.recent(thread_key) if self.history and thread_key else []
        answer = self._ask(question, history, reading, upto)
        if self.history and thread_key and not answer.small_talk:  # "thanks!" is not a question to lean on
            self.history.add(thread_key, answer.question)
        return answer

    def _ask(self, question: str, history: list[str], reading: str | None, upto: int | None = None) -> Answer:
        """``upto``: the channel's progress in ``reading``; nothing of it past that is searched, here or
        in the search of every reading."""
        if reading is None:
            return self.knowledge.ask(question, history=history)
        try:
            own = self.knowledge.ask(question, history=history, reading=reading, upto=upto)
        except InputError:  # the channel's reading was removed a moment ago: search them all
            return self.knowledge.ask(question, history=history)
        if own.grounded or own.further:
            return own
        anywhere = self.knowledge.ask(
            question, history=history, upto=upto, bounded=reading if upto is not None else None
        )
        if not anywhere.grounded or not anywhere.sources or anywhere.sources[0].reading == reading:
            return own
        note = f"This comes from the reading “{anywhere.sources[0].reading}”, not this channel's current one."
        return replace(anywhere, body=f"{note}\n{anywhere.body}")

    async def __call__(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Message | Command)
        started = time.monotonic()
        private, unflagged = asks_privately(event)
        question = clean_question(
            unflagged
            if unflagged is not None
            else event.text
            if isinstance(event, Message)
            else (event.options.get("question") or event.text)
        )  # a bad question is answered privately at once
        ticket = await self.recorder.admit(event, question, private=private) if self.recorder else None
        if not private:  # a private answer is its own first response (Discord: ephemeral, no public "thinking…")
            await responder.acknowledge()
        key = self.thread_key(event)
        threaded = isinstance(event, Message) or bool(event.where.thread_id)
        channel = event.where.channel
        reading = await self.current_reading(channel.platform, channel.id) if self.current_reading else None
        upto = await self.progress(channel.platform, channel.id) if self.progress and reading else None
        try:
            answer = await asyncio.to_thread(self._answer, question, key if threaded else None, reading, upto)
        except BaseException:
            if self.recorder and ticket:
                await self.recorder.failed(ticket)
            raise
        reply = answer_reply(answer)
        if self.recorder and ticket:
            reply = await self.recorder.answered(ticket, answer, reply, private=private)
        await responder.reply(reply)
        self.metrics.answered(event.where.channel.platform, time.monotonic() - started, answer.grounded)
