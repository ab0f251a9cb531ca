"""The readings feature, put together from the services passed in: /reading, and the watcher
that makes a reading added or removed by any process visible here without a restart."""

from __future__ import annotations

import asyncio
import logging

from bot.clock import Clock
from bot.core.feature import Feature, Task, bind
from bot.core.outbox import Outbox
from bot.readings.commands import commands
from bot.readings.handlers import ReadingHandler
from bot.readings.pacing import SyllabusRunner
from bot.readings.service import ReadingService

log = logging.getLogger(__name__)
WATCH_EVERY = 5.0  # seconds between looks at the readings' version (other processes' changes)


class Watcher:
    """Keeps this process's view of the readings current: the index reloaded when any process
    added or removed a reading, and the ids offered as suggestions."""

    def __init__(
        self, service: ReadingService, clock: Clock, every: float = WATCH_EVERY, *, seen: str | None = None
    ) -> None:
        """``seen``: the readings' version when this process read its index (a later change is reloaded)."""
        self.service = service
        self.clock = clock
        self.every = every
        self.choices: list[tuple[str, str]] = []
        self.section_choices: list[tuple[str, str]] = []  # (heading · reading id, heading), in reading order
        self._seen: str | None = seen

    def suggest(self, typed: str) -> list[tuple[str, str]]:
        wanted = typed.strip().lower()
        return [(label, rid) for label, rid in self.choices if wanted in label.lower() or wanted in rid][:25]

    def suggest_sections(self, typed: str) -> list[tuple[str, str]]:
        wanted = " ".join(typed.lower().split())
        first = [c for c in self.section_choices if c[1].lower().startswith(wanted)]
        rest = [c for c in self.section_choices if wanted in c[0].lower() and c not in first]
        return [*first, *rest][:25]

    async def check(self) -> bool:
        """Look once; True if another process added, replaced or removed a reading since the last
        look (the index was reloaded). A change of this process's own needs no reload; while this
        process is adding or removing one, the look waits for the next tick."""
        if self.service.busy:
            return False
        version = await self.service.store.version()
        first, changed = not self.choices, self._seen is not None and version != self._seen
        own = self.service.own_change
        if changed and own is not None and own == (self._seen, version):
            changed = False
        if changed:
            await asyncio.to_thread(self.service.knowledge.reload)
            log.info("readings changed in another process: index reloaded")
        if first or version != self._seen:
            listed = await self.service.listed()
            self.choices = [(f"{r.title} ({r.id})", r.id) for r in listed]
            self.section_choices = [
                (f"{s.label[:80]} · {r.id}"[:100], s.label[:100])
                for r in listed
                for s in await self.service.sections(r.id)
            ]
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
    service: ReadingService,
    outbox: Outbox,
    clock: Clock,
    *,
    moderators: frozenset[str],
    seen: str | None = None,
    syllabus: SyllabusRunner | None = None,
) -> tuple[Watcher, Feature]:
    """``syllabus``: the channels' syllabi, applied by a task of this feature."""
    watcher = Watcher(service, clock, seen=seen)
    handler = ReadingHandler(service, outbox, moderators, syllabus=syllabus)
    tasks = [Task("readings-watcher", watcher.run)]
    if syllabus is not None and syllabus.syllabi:
        tasks.append(Task("readings-syllabus", syllabus.run))
    return watcher, Feature(
        "readings",
        commands=bind(commands(watcher.suggest, watcher.suggest_sections), {"reading": handler.command}),
        tasks=tuple(tasks),
    )
