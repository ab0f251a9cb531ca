"""The syllabus at work: each channel moved to its step's reading and progress when the step
begins, once (the step last applied is kept in the database, so a restart or a second process
does not apply it again, and a moderator's change stands until the next step)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.readings.service import ReadingService
from bot.readings.syllabus import SYLLABUS_BY, Step, Syllabus, next_step, step_at, steps
from bot.store.state import BotState

log = logging.getLogger(__name__)
MAX_WAIT = 60.0  # look again at least this often (a clock change, a reading re-indexed)
MIN_WAIT = 1.0


def state_key(syllabus: Syllabus) -> str:
    return f"syllabus:{syllabus.platform}:{syllabus.channel}"


class SyllabusRunner:
    def __init__(self, service: ReadingService, clock: Clock, syllabi: Sequence[Syllabus], state: BotState) -> None:
        self.service = service
        self.clock = clock
        self.syllabi = tuple(syllabi)
        self.state = state

    def for_channel(self, platform: str, channel: str) -> Syllabus | None:
        return next((s for s in self.syllabi if s.key == (platform, channel)), None)

    async def section_counts(self) -> dict[str, int]:
        readings = {e.reading for s in self.syllabi for e in s.entries}
        known = set(await asyncio.to_thread(self.service.knowledge.readings))
        return {r: len(await self.service.sections(r)) for r in sorted(readings & known)}

    async def section_counts_of_all(self) -> dict[str, int]:
        """Every known reading's number of sections (what a syllabus is checked against)."""
        known = await asyncio.to_thread(self.service.knowledge.readings)
        return {r: len(await self.service.sections(r)) for r in known}

    async def steps(self, syllabus: Syllabus) -> list[Step]:
        return steps(syllabus, await self.section_counts())

    async def check(self) -> list[tuple[Syllabus, Step]]:
        """Apply every channel's step in force now, unless it was applied already; returns those applied."""
        now = self.clock.now()
        counts = await self.section_counts()
        applied = []
        for syllabus in self.syllabi:
            step = step_at(steps(syllabus, counts), now)
            if step is None or step.reading not in counts:
                continue
            key = state_key(syllabus)
            if await self.state.get(key) == step.key:
                continue
            await self.service.apply(syllabus.platform, syllabus.channel, step.reading, step.upto, by=SYLLABUS_BY)
            await self.state.set(key, step.key)
            log.info("%s: now reading %s up to %s", syllabus.label, step.reading, step.upto)
            applied.append((syllabus, step))
        return applied

    async def wait(self) -> float:
        """Seconds until the next step of any channel (within the bounds)."""
        now = self.clock.now()
        counts = await self.section_counts()
        upcoming = [s.at for syllabus in self.syllabi if (s := next_step(steps(syllabus, counts), now))]
        if not upcoming:
            return MAX_WAIT
        return max(MIN_WAIT, min(MAX_WAIT, (min(upcoming) - now).total_seconds()))

    async def run(self) -> None:
        while True:
            try:
                await self.check()
                wait = await self.wait()
            except Exception:
                log.exception("could not apply the syllabus")
                wait = MAX_WAIT
            await self.clock.sleep(wait)

    async def outlook(self, platform: str, channel: str, now: datetime) -> str | None:
        """One line for /reading: the syllabus step in force and the next one."""
        syllabus = self.for_channel(platform, channel)
        if syllabus is None:
            return None
        all_steps = await self.steps(syllabus)
        coming = next_step(all_steps, now)
        if coming is None:
            return "The syllabus has no further steps."
        return f"Next on the syllabus: {await self.describe(coming)} from {coming.day.strftime('%a %d %b %Y')}."

    async def describe(self, step: Step) -> str:
        """“Kari Woodencoat” (kari-woodencoat) up to “Part 6”, or the whole of it."""
        try:
            title = (await self.service.get(step.reading)).title
        except Exception:
            title = step.reading
        if step.upto is None:
            return f"all of “{title}” ({step.reading})"
        named = [s for s in await self.service.sections(step.reading) if s.order == step.upto]
        label = named[0].label if named else f"section {step.upto + 1}"
        return f"“{title}” ({step.reading}) up to “{label}”"

    async def plan_lines(self, start: datetime, days: int) -> list[str]:
        """For ``readbot prompts preview``: each channel's steps from ``start`` for ``days`` days."""
        end = start + timedelta(days=days)
        out: list[str] = []
        counts = await self.section_counts()
        for syllabus in self.syllabi:
            all_steps = steps(syllabus, counts)
            current = step_at(all_steps, start)
            out += ["", f"syllabus {syllabus.platform} {syllabus.channel} · {syllabus.timezone.key}"]
            if current is not None:
                out.append(f"  now        {await self.describe(current)}")
            for step in all_steps:
                if start < step.at <= end:
                    out.append(f"  {step.day.isoformat()} {await self.describe(step)}")
        return out

    async def at(self, platform: str, channel: str, when: datetime) -> Step | None:
        syllabus = self.for_channel(platform, channel)
        return None if syllabus is None else step_at(await self.steps(syllabus), when)
