"""The Q&A handler: a mention of readbot or ``/ask`` → a retrieval-augmented answer."""

from __future__ import annotations

import asyncio
import time

from bot.core.adapter import Responder
from bot.core.events import Citation, Command, Event, Message, Reply
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.text import clean_question
from bot.knowledge.answer import Answer
from bot.knowledge.service import KnowledgeService
from bot.store.history import ThreadHistory


def answer_reply(answer: Answer) -> Reply:
    citations = tuple(Citation(s.section, s.document, s.reading, s.text) for s in answer.sources[:1])
    return Reply(text=answer.body, citations=citations if answer.grounded else ())


class AskHandler:
    """Answers a mention or /ask. Blocking work runs in a worker thread."""

    def __init__(
        self, knowledge: KnowledgeService, history: ThreadHistory | None = None, *, metrics: Metrics = NO_METRICS
    ) -> None:
        self.knowledge = knowledge
        self.history = history
        self.metrics = metrics

    @staticmethod
    def thread_key(event: Message | Command) -> str:
        where = event.where
        thread = where.thread_id or (event.message_id if isinstance(event, Message) else "")
        return f"{where.channel.platform}:{where.channel.id}:{thread}"

    def _answer(self, question: str, thread_key: str | None) -> Answer:
        """Blocking (history, embedding, Chroma, LLM): one trip to a worker thread."""
        history = self.history.recent(thread_key) if self.history and thread_key else []
        answer = self.knowledge.ask(question, history=history)
        if self.history and thread_key:
            self.history.add(thread_key, answer.question)
        return answer

    async def __call__(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Message | Command)
        started = time.monotonic()
        question = clean_question(
            event.text if isinstance(event, Message) else (event.options.get("question") or event.text)
        )  # a bad question is answered privately at once
        await responder.acknowledge()
        key = self.thread_key(event)
        threaded = isinstance(event, Message) or bool(event.where.thread_id)
        answer = await asyncio.to_thread(self._answer, question, key if threaded else None)
        await responder.reply(answer_reply(answer))
        self.metrics.answered(event.where.channel.platform, time.monotonic() - started, answer.grounded)
