"""Recaps on a schedule: a discussion prompt's thread recapped in it the day after the prompt
(READBOT_RECAP_AFTER_PROMPT_HOURS, e.g. 24; 0, the default, never). Every ``CHECK_EVERY`` seconds the
prompts' threads old enough and not recapped yet are looked at; each is claimed in the database first
(one replica posts it), recapped if members wrote in it (a thread nobody answered gets no recap), and
released for a later look if posting failed."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.clock import Clock
from bot.core.adapter import UnsupportedOperation
from bot.core.outbox import Outbox
from bot.recap.handler import MAX_MESSAGES, CurrentReading, RecapHandler, render
from bot.recap.summary import member_texts
from bot.store.threads import BotThreads

log = logging.getLogger(__name__)

CHECK_EVERY = 600.0


class ScheduledRecaps:
    def __init__(
        self,
        threads: BotThreads,
        outbox: Outbox,
        handler: RecapHandler,
        clock: Clock,
        after: timedelta,
        *,
        current_reading: CurrentReading | None = None,
    ) -> None:
        self.threads = threads
        self.outbox = outbox
        self.handler = handler
        self.clock = clock
        self.after = after
        self.current_reading = current_reading

    async def check(self) -> int:
        """Look once; the number of recaps posted."""
        posted = 0
        for thread in await self.threads.due_for_recap(self.clock.now() - self.after):
            if not self.outbox.runs(thread.channel.platform):
                continue  # another process runs that platform
            if not await self.threads.claim_recap(thread, self.clock.now()):
                continue
            try:
                messages = await self.outbox.history(thread, limit=MAX_MESSAGES)
                if not member_texts(messages):
                    continue  # nobody discussed it: nothing to recap (and no retry)
                channel = thread.channel
                reading = await self.current_reading(channel.platform, channel.id) if self.current_reading else None
                recap, by_llm = await asyncio.to_thread(self.handler.recap, messages, reading)
                await self.outbox.send(thread, render(recap, written_by_llm=by_llm))
                posted += 1
            except (UnsupportedOperation, LookupError) as exc:
                log.warning("no scheduled recap of %s: %s", thread, exc)
            except Exception:
                log.exception("the scheduled recap of %s failed; it is tried again later", thread)
                await self.threads.release_recap(thread)
        return posted

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("could not look for prompts' threads to recap")
            await self.clock.sleep(CHECK_EVERY)
