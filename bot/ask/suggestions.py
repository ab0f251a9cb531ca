"""Suggestions drawn from the readings: /ask's autocomplete from the readings' section titles, and the
questions the Slack assistant panel suggests (the prompt bank's discussion questions on a reading that
is indexed, else a question about each of its first sections).

The sections come from the in-memory search index, read in a worker thread by a background task (every
``REFRESH_EVERY`` seconds: readings come and go), so a keystroke's autocomplete never waits on it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.clock import Clock
from bot.core.commands import MAX_SUGGESTIONS, SUGGESTION_VALUE_LIMIT
from bot.knowledge.service import KnowledgeService

log = logging.getLogger(__name__)

REFRESH_EVERY = 30.0
MAX_PROMPTS = 4  # Slack's assistant panel shows up to four suggested prompts


def about(section: str) -> str:
    question = f"What does the reading say about “{section}”?"
    return question if len(question) <= SUGGESTION_VALUE_LIMIT else question[: SUGGESTION_VALUE_LIMIT - 2] + "…?"


class ReadingSuggestions:
    def __init__(self, knowledge: KnowledgeService, bank: Sequence[tuple[str, str]] = ()) -> None:
        """``bank``: the prompt bank's (question, section) pairs."""
        self.knowledge = knowledge
        self.bank = tuple(bank)
        self.sections: list[str] = []  # every reading's section titles, in reading order

    def refresh(self) -> None:
        """Blocking: the section titles, from the search index."""
        self.sections = self.knowledge.section_titles()

    async def run(self, clock: Clock) -> None:
        while True:
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                log.exception("could not read the readings' sections for suggestions")
            await clock.sleep(REFRESH_EVERY)

    def suggest(self, typed: str) -> list[tuple[str, str]]:
        """/ask's autocomplete: what was typed (kept as it is), then the sections whose title has every
        typed word, each as a question about it."""
        text = " ".join(typed.split())
        wanted = text.lower().split()
        found = [(section, about(section)) for section in self.sections if all(w in section.lower() for w in wanted)]
        if not found and wanted:  # a question being typed: sections sharing a word with it
            found = [(s, about(s)) for s in self.sections if any(len(w) > 3 and w in s.lower() for w in wanted)]
        first = [(text, text)] if text and len(text) <= SUGGESTION_VALUE_LIMIT else []
        return (first + found)[:MAX_SUGGESTIONS]

    def prompts(self) -> list[str]:
        """Questions for the assistant panel: the bank's on sections an indexed reading has, else ones
        about the first sections."""
        known = set(self.sections)
        chosen = [question for question, section in self.bank if section in known][:MAX_PROMPTS]
        return chosen or [about(s) for s in self.sections[:MAX_PROMPTS]]
