"""The Q&A handler: a mention of readbot or ``/ask`` → a retrieval-augmented answer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.ask.record import AnswerRecorder, asks_privately
from bot.core.adapter import Responder
from bot.core.events import Citation, Command, Event, Message, Reply, Visibility, Where
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.text import clean_question
from bot.errors import InputError
from bot.knowledge.answer import Answer
from bot.knowledge.service import KnowledgeService
from bot.store.history import ThreadHistory

log = logging.getLogger(__name__)


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
Owe = Callable[[Where, Reply, BaseException], Awaitable[object]]


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
        owe: Owe | None = None,
    ) -> None:
        """``current_reading(platform, channel)``: the channel's reading, searched first;
        ``progress(platform, channel)``: how far the channel has read it (section order), or None.
        ``recorder``: rate limits, the answers kept for feedback and /insights, their buttons
        (:mod:`bot.ask.record`). ``owe(where, reply, error)``: an answer the platform refused (a public
        one, whose place the responder knows) goes to the durable outbox, which keeps trying (the
        question was acknowledged: never lost)."""
        self.knowledge = knowledge
        self.history = history
        self.metrics = metrics
        self.current_reading = current_reading
        self.progress = progress
        self.recorder = recorder
        self.owe = owe

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
        history: list[str] = []
        try:
            history = self.history.recent(thread_key) if self.history and thread_key else []
        except (sqlite3.Error, OSError) as exc:  # a full disk, a broken file: answer without the thread
            self._history_failed("read", exc)
        answer = self._ask(question, history, reading, upto)
        if self.history and thread_key and not answer.small_talk:  # "thanks!" is not a question to lean on
            try:
                self.history.add(thread_key, answer.question)
            except (sqlite3.Error, OSError) as exc:
                self._history_failed("kept", exc)
        return answer

    async def _reply(self, responder: Responder, reply: Reply) -> None:
        try:
            await responder.reply(reply)
        except Exception as exc:
            where = getattr(responder, "where", None)  # where the responder posts a public reply
            public = reply.visibility is Visibility.PUBLIC and not isinstance(exc, InputError)
            if self.owe is None or not public or not isinstance(where, Where):
                raise
            await self.owe(where, reply, exc)

    def _history_failed(self, what: str, exc: BaseException) -> None:
        log.warning("thread history could not be %s (%s): answering without it", what, exc)

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
        await responder.acknowledge(private=private)  # a private answer: Discord's "thinking…" is ephemeral too
        key = self.thread_key(event)
        threaded = isinstance(event, Message) or bool(event.where.thread_id)
        channel = event.where.channel
        reading = upto = None
        try:
            if self.current_reading is not None:
                reading = await self.current_reading(channel.platform, channel.id)
            if self.progress is not None and reading is not None:
                upto = await self.progress(channel.platform, channel.id)
        except Exception as exc:  # the database is down: every reading is searched, the answer still comes
            log.warning("the channel's reading could not be looked up (%s): searching every reading", exc)
        try:
            answer = await asyncio.to_thread(self._answer, question, key if threaded else None, reading, upto)
        except BaseException:
            if self.recorder and ticket:
                await self.recorder.failed(ticket)
            raise
        reply = answer_reply(answer)
        if self.recorder and ticket:
            reply = await self.recorder.answered(ticket, answer, reply, private=private)
        await self._reply(responder, reply)
        self.metrics.answered(event.where.channel.platform, time.monotonic() - started, answer.grounded)
