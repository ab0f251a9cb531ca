"""The readings feature, put together from the services passed in: /reading, and the watcher
that makes a reading added or removed by any process visible here without a restart."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.clock import Clock
from bot.core.feature import Feature, Task, bind
from bot.core.outbox import Outbox
from bot.readings.commands import commands
from bot.readings.handlers import ReadingHandler
from bot.readings.service import ReadingService

log = logging.getLogger(__name__)
WATCH_EVERY = 5.0  # seconds between looks at the readings' version (other processes' changes)


class Watcher:
    """Keeps this process's view of the readings current: the index reloaded when any process
    added or removed a reading, and the ids offered as suggestions."""

    def __init__(self, service: ReadingService, clock: Clock, every: float = WATCH_EVERY) -> None:
        self.service = service
        self.clock = clock
        self.every = every
        self.choices: list[tuple[str, str]] = []
        self._seen: tuple[int, datetime | None] | None = None

    def suggest(self, typed: str) -> list[tuple[str, str]]:
        wanted = typed.strip().lower()
        return [(label, rid) for label, rid in self.choices if wanted in label.lower() or wanted in rid][:25]

    async def check(self) -> bool:
        """Look once; True if the readings changed since the last look (the index was reloaded)."""
        version = await self.service.store.version()
        changed = self._seen is not None and version != self._seen
        if changed and version == self.service.own_version:  # this process's own change: already searched
            changed = False
            self.choices = [(f"{r.title} ({r.id})", r.id) for r in await self.service.listed()]
        if changed:
            await asyncio.to_thread(self.service.knowledge.reload)
            log.info("readings changed (%d now): index reloaded", version[0])
        if changed or self._seen is None:
            self.choices = [(f"{r.title} ({r.id})", r.id) for r in await self.service.listed()]
        self._seen = version
        return changed

    async def run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:
                log.exception("could not check the readings for changes")
            await self.clock.sleep(self.every)


def build(
    service: ReadingService, outbox: Outbox, clock: Clock, *, moderators: frozenset[str]
) -> tuple[Watcher, Feature]:
    watcher = Watcher(service, clock)
    handler = ReadingHandler(service, outbox, moderators)
    return watcher, Feature(
        "readings",
        commands=bind(commands(watcher.suggest), {"reading": handler.command}),
        tasks=(Task("readings-watcher", watcher.run),),
    )
