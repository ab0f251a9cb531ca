"""The banks a channel draws its discussion questions and poll claims from: its current reading's
approved items (the shipped reading's are its curated files, prompts/discussion.yaml and
prompts/claims.yaml). Every selection takes ``upto``, the last section order a group has read, and
leaves out what comes later."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.review.queue import ReviewQueue

CurrentReading = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Entry:
    id: str
    text: str
    section: str
    passage: str
    order: int | None = None  # the section's index among the reading's sections (None: not known)


class Banks:
    def __init__(
        self,
        queue: ReviewQueue,
        current: CurrentReading,
        *,
        curated_reading: str,
        curated: Mapping[str, Sequence[Entry]],
        indexed: Callable[[], Awaitable[Collection[str]]],
        sections_of: Callable[[str], Awaitable[Sequence[str]]],
    ) -> None:
        """``curated``: kind → the shipped reading's curated entries; ``indexed``: the readings in the
        index now; ``sections_of``: a reading's section headings in order (the curated entries' order)."""
        self.queue = queue
        self.current = current
        self.curated_reading = curated_reading
        self._curated = {kind: list(entries) for kind, entries in curated.items()}
        self._ordered = False
        self.indexed = indexed
        self.sections_of = sections_of

    async def reading_of(self, platform: str, channel: str) -> str | None:
        """The channel's current reading; where none is set, the shipped reading while it is indexed."""
        chosen = await self.current(platform, channel)
        if chosen is not None:
            return chosen
        return self.curated_reading if self.curated_reading in await self.indexed() else None

    async def _curated_entries(self, kind: str) -> list[Entry]:
        if not self._ordered:
            headings = list(await self.sections_of(self.curated_reading))
            for key, entries in self._curated.items():
                self._curated[key] = [
                    replace(e, order=headings.index(e.section) if e.section in headings else None) for e in entries
                ]
            self._ordered = bool(headings)
        return self._curated.get(kind, [])

    async def entries(self, kind: str, reading: str, *, upto: int | None = None) -> list[Entry]:
        """The reading's approved ``kind`` entries, in reading order; with ``upto`` only those of
        sections up to and including that order."""
        if reading == self.curated_reading:
            found = await self._curated_entries(kind)
            return [e for e in found if upto is None or (e.order is not None and e.order <= upto)]
        return [
            Entry(i.id, i.text, i.section, i.passage, i.order)
            for i in await self.queue.approved(kind, reading, upto=upto)
        ]

    async def for_channel(
        self, kind: str, platform: str, channel: str, *, upto: int | None = None
    ) -> tuple[str | None, list[Entry]]:
        """(the channel's reading, its bank); no reading: (None, [])."""
        reading = await self.reading_of(platform, channel)
        if reading is None:
            return None, []
        return reading, await self.entries(kind, reading, upto=upto)
