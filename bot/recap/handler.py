"""``/recap``: the thread's messages through the adapter of its platform (``history``), recapped in a
worker thread (by the LLM when one is configured, else extractively), posted in the thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.events import Command, Event, PastMessage, Reply
from bot.core.outbox import Outbox
from bot.errors import InputError
from bot.knowledge.llm import LLMUnavailable
from bot.knowledge.retrieval import Retrieval
from bot.knowledge.service import KnowledgeService
from bot.recap.summary import Recap, extractive_recap, member_texts
from bot.recap.writer import llm_recap

log = logging.getLogger(__name__)

MAX_MESSAGES = 1000  # a thread's messages read for one recap
NOT_IN_THREAD = "/recap sums up a thread: run it inside the thread you want recapped."
EMPTY = "There is nothing to recap in this thread yet: no member has written in it."
NO_HISTORY = "I can't read this thread's messages here, so I can't recap it."

CurrentReading = Callable[[str, str], Awaitable[str | None]]


def render(recap: Recap, *, written_by_llm: bool = False) -> Reply:
    plural = "" if recap.messages == 1 else "s"
    lines = [f"Recap of this thread ({recap.messages} message{plural} from members)"]
    if recap.themes:
        for theme in recap.themes:
            lines.append(f"\n{theme.label}")
            lines.extend(f"• {point}" for point in theme.points)
    else:
        lines.append("\nNo points yet: the members' messages are questions or short replies.")
    lines.append("\nOpen questions")
    lines.extend(f"• {q}" for q in recap.open_questions) if recap.open_questions else lines.append("• none")
    if recap.passages:
        lines.append("\nPassages the thread touched")
        lines.extend(f"• “{p.section}” ({p.document}): {p.passage}" for p in recap.passages)
    if written_by_llm:
        lines.append("\n(Written by the language model from the thread; passages found by readbot.)")
    return Reply("\n".join(lines))


class RecapHandler:
    def __init__(
        self, outbox: Outbox, knowledge: KnowledgeService, *, current_reading: CurrentReading | None = None
    ) -> None:
        self.outbox = outbox
        self.knowledge = knowledge
        self.current_reading = current_reading

    def _search(self, reading: str | None) -> Callable[[str], Retrieval | None]:
        def search(text: str) -> Retrieval | None:
            try:
                return self.knowledge.retrieve(text, reading=reading)
            except Exception:  # a reading removed a moment ago, a bad query: no passage for it
                log.warning("recap: searching the reading failed", exc_info=True)
                return None

        return search

    def recap(self, messages: Sequence[PastMessage], reading: str | None) -> tuple[Recap, bool]:
        """Blocking: the LLM's recap when one is configured and answers in form, else the extractive one."""
        search = self._search(reading)
        llm = self.knowledge.llm
        if llm is not None:
            try:
                written = llm_recap(llm.model, messages, search, lambda _model, prompt: llm.complete(prompt))
            except LLMUnavailable as exc:
                log.warning("LLM unavailable, recapping extractively: %s", exc)
            else:
                if written is not None:
                    return written, True
                log.warning("the LLM's recap had no point in the expected form: recapping extractively")
        embedder = self.knowledge.index.embedder
        return extractive_recap(messages, embedder.embed_documents, search), False

    async def __call__(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command)
        if not event.where.thread_id:
            raise InputError(NOT_IN_THREAD)
        await responder.acknowledge()
        try:
            messages = await self.outbox.history(event.where, limit=MAX_MESSAGES)
        except (UnsupportedOperation, LookupError) as exc:
            log.warning("recap: %s", exc)
            raise InputError(NO_HISTORY) from None
        if not member_texts(messages):
            raise InputError(EMPTY)
        channel = event.where.channel
        reading = await self.current_reading(channel.platform, channel.id) if self.current_reading else None
        recap, by_llm = await asyncio.to_thread(self.recap, messages, reading)
        await responder.reply(render(recap, written_by_llm=by_llm))
