"""Adding, listing, removing and choosing readings: the file → its text and sections
(:mod:`.formats`) → a normalised markdown copy under the data dir → the knowledge index (one
reading id), with the record in the database.

Blocking work (parsing, embedding) runs in a worker thread. A reading being added is stored as
``indexing`` first and ``ready`` at the end; a failure removes what was half-added, so a reading
is there whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock
from bot.errors import InputError
from bot.knowledge.sections import SectionName
from bot.knowledge.service import KnowledgeService
from bot.readings.drafts import Drafts
from bot.readings.formats import ReadingDoc, load_reading
from bot.readings.store import Progress, ProgressStore, Reading, ReadingStore, check_id

log = logging.getLogger(__name__)
DEFAULT_MAX_MB = 50


class UnknownReading(InputError):
    def __init__(self, reading_id: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) or "none yet"
        super().__init__(f"There is no reading called “{reading_id}”. Readings: {listed}.")


@dataclass(frozen=True)
class Listed:
    id: str
    title: str
    sections: tuple[str, ...]
    source: str


def as_markdown(doc: ReadingDoc, title: str) -> str:
    """The reading as the index ingests it: the title, then each section under its heading."""
    parts = [f"# {_one_line(title)}", ""]
    for section in doc.sections:
        parts += [f"## {_one_line(section.heading)}", "", section.text.strip(), ""]
    return "\n".join(parts)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class ReadingService:
    def __init__(
        self,
        store: ReadingStore,
        knowledge: KnowledgeService,
        clock: Clock,
        *,
        folder: Path,
        max_bytes: int = DEFAULT_MAX_MB * 1024 * 1024,
        drafts: Drafts | None = None,
    ) -> None:
        """``drafts``: makes each added reading's discussion questions and poll claims (review queue)."""
        self.drafts = drafts
        self.store = store
        self.progress_store = ProgressStore(store.db)
        self.knowledge = knowledge
        self.clock = clock
        self.folder = folder
        self.max_bytes = max_bytes
        self._lock = asyncio.Lock()  # one add or remove at a time in this process
        # (version before, version after) this process's last change: its watcher needs no reload for it
        self.own_change: tuple[str, str] | None = None

    @property
    def busy(self) -> bool:
        """An add or remove is under way in this process."""
        return self._lock.locked()

    def path_of(self, reading_id: str) -> Path:
        return self.folder / f"{reading_id}.md"

    async def load(self, data: bytes, name: str) -> ReadingDoc:
        """The file's title and sections (a bad file: ReadingFormatError, one line)."""
        return await asyncio.to_thread(load_reading, data, name, max_bytes=self.max_bytes)

    async def add(self, data: bytes, name: str, *, reading_id: str, title: str | None = None, by: str) -> Reading:
        """Index one file as the reading ``reading_id`` (replacing one with that id)."""
        reading_id = check_id(reading_id)
        return await self.add_doc(await self.load(data, name), name, reading_id=reading_id, title=title, by=by)

    async def add_doc(
        self, doc: ReadingDoc, name: str, *, reading_id: str, title: str | None = None, by: str
    ) -> Reading:
        """Index ``doc`` as ``reading_id``. A new reading is stored as ``indexing`` first; a replaced one
        keeps its record, its channels and (restored) its old text until the new one is whole."""
        reading_id = check_id(reading_id)
        chosen = _one_line(title) if title and title.strip() else doc.title
        sections = [s.heading for s in doc.sections]
        async with self._lock:
            previous = await self.store.get(reading_id)
            old_sources = await asyncio.to_thread(self.knowledge.reading_sources, reading_id)

            def record(status: str) -> Awaitable[Reading]:
                return self.store.save(
                    reading_id,
                    title=chosen,
                    source=name,
                    format=doc.format,
                    sections=sections,
                    status=status,
                    by=by,
                    now=self.clock.now(),
                )

            if previous is None:
                await self._changed(record("indexing"))
            work = asyncio.ensure_future(
                asyncio.to_thread(self._index, self.path_of(reading_id), as_markdown(doc, chosen), reading_id)
            )
            try:
                await asyncio.shield(work)  # cancelled or not, the thread finishes before anything is undone
            except BaseException:
                with contextlib.suppress(BaseException):
                    await work
                log.exception("adding reading %s from %s failed; undoing it", reading_id, name)
                await asyncio.shield(self._undo(reading_id, restore=old_sources, keep_record=previous is not None))
                raise
            await self._changed(record("ready"))
        await self._draft(reading_id, doc, by)
        reading = await self.store.get(reading_id)
        assert reading is not None
        return reading

    async def _draft(self, reading_id: str, doc: ReadingDoc, by: str) -> None:
        """The reading's drafted questions and claims. The reading is whole without them, so a failure
        here is logged (the reading stays; adding it again drafts again), not raised."""
        if self.drafts is None:
            return
        try:
            await self.drafts.made(reading_id, doc, by=by)
        except Exception:
            log.exception("drafting questions and claims for %s failed; add the reading again to retry", reading_id)

    async def _changed(self, change: Awaitable[object]) -> None:
        """Make a change to the readings and note the version it made, so this process's watcher
        doesn't reload for it (another process's change in between still shows)."""
        before = await self.store.version()
        await change
        await self.store.bump_version()
        self.own_change = (before, await self.store.version())

    def _index(self, path: Path, text: str, reading_id: str) -> None:
        backup = path.with_suffix(".md.previous")
        if path.exists():
            path.replace(backup)  # the old text, in case the new one can't be indexed
        self.knowledge.remove_reading(reading_id)  # a replaced reading's old files go
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".md.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        report = self.knowledge.ingest([path], reading=reading_id)
        if report.failed:
            raise InputError(f"The reading could not be indexed: {report.failed[0][1]}")
        backup.unlink(missing_ok=True)

    async def _undo(self, reading_id: str, *, restore: Sequence[str], keep_record: bool) -> None:
        await asyncio.to_thread(self._unindex, reading_id, restore)
        if not keep_record:
            await self._changed(self.store.remove(reading_id))

    def _unindex(self, reading_id: str, restore: Sequence[str] = ()) -> None:
        """Forget what the reading has in the index; then index again the files it had before (a
        failed replace), the data dir's copy from its backup."""
        self.knowledge.remove_reading(reading_id)
        path = self.path_of(reading_id)
        path.unlink(missing_ok=True)
        backup = path.with_suffix(".md.previous")
        if backup.exists():
            backup.replace(path)
        old = [Path(source) for source in restore if Path(source).is_file()]
        if old:
            self.knowledge.ingest(old, reading=reading_id)

    async def remove(self, reading_id: str) -> list[tuple[str, str]]:
        """Remove the reading from the index, the database and every channel that used it; returns
        those channels. Unknown id: UnknownReading."""
        async with self._lock:
            known = await self.ids()
            if reading_id not in known:
                raise UnknownReading(reading_id, known)
            channels = await self.store.channels_using(reading_id)
            await asyncio.to_thread(self._unindex, reading_id)
            await self._changed(self.store.remove(reading_id))
            if self.drafts is not None:
                await self.drafts.removed(reading_id)
        return channels

    async def ids(self) -> list[str]:
        return [r.id for r in await self.listed()]

    async def listed(self) -> list[Listed]:
        """Every reading: those added as readings, and those indexed by `readbot ingest` (the shipped one)."""
        stored = {r.id: r for r in await self.store.all() if r.status == "ready"}
        indexed = await asyncio.to_thread(self.knowledge.reading_sections)
        out = [Listed(r.id, r.title, indexed.get(r.id, ("", r.sections))[1], r.source) for r in stored.values()]
        for reading_id, (title, sections) in indexed.items():
            if reading_id not in stored:
                out.append(Listed(reading_id, title, sections, "readbot ingest"))
        return out

    async def get(self, reading_id: str) -> Listed:
        listed = await self.listed()
        found = next((r for r in listed if r.id == reading_id), None)
        if found is None:
            raise UnknownReading(reading_id, [r.id for r in listed])
        return found

    async def use(self, platform: str, channel_id: str, reading_id: str, *, by: str) -> Listed:
        reading = await self.get(reading_id)
        if await self.store.get(reading_id) is None:  # an ingested reading: record it, so channels can point at it
            await self._changed(
                self.store.save(
                    reading_id,
                    title=reading.title,
                    source=reading.source,
                    format="md",
                    sections=reading.sections,
                    status="ready",
                    by=by,
                    now=self.clock.now(),
                )
            )
        await self.store.use(platform, channel_id, reading_id, by=by, now=self.clock.now())
        return reading

    async def current(self, platform: str, channel_id: str) -> str | None:
        return await self.store.current(platform, channel_id)

    # ------------------------------------------------------------------ progress (spoiler-safe answers)

    async def progress(self, platform: str, channel_id: str) -> int | None:
        """How far the channel has read its current reading: the last section's order (the index's
        ``section_order``), or None (no reading, or no bound: the whole reading is open)."""
        record = await self.progress_record(platform, channel_id)
        return None if record is None else record.section_order

    async def progress_record(self, platform: str, channel_id: str) -> Progress | None:
        current = await self.current(platform, channel_id)
        if current is None:
            return None
        return await self.progress_store.get(platform, channel_id, current)

    async def sections(self, reading_id: str) -> list[SectionName]:
        return await asyncio.to_thread(self.knowledge.sections, reading_id)

    async def set_progress(self, platform: str, channel_id: str, typed: str, *, by: str) -> tuple[str, SectionName]:
        """Record that the channel has read its reading up to the section ``typed`` names; returns
        (reading id, section). No reading, or no such section: InputError, nothing changed."""
        current = await self.current(platform, channel_id)
        if current is None:
            raise InputError(
                "This channel has no reading yet, so there is no progress to set: "
                "a moderator can choose one with /reading use ID."
            )
        section = await asyncio.to_thread(self.knowledge.find_section, current, typed)
        await self.progress_store.set(
            platform, channel_id, current, order=section.order, section=section.label, by=by, now=self.clock.now()
        )
        return current, section

    async def clear_progress(self, platform: str, channel_id: str) -> str | None:
        """Open the whole current reading again; returns its id (None: the channel has no reading)."""
        current = await self.current(platform, channel_id)
        if current is not None:
            await self.progress_store.clear(platform, channel_id, current)
        return current

    async def apply(self, platform: str, channel_id: str, reading_id: str, upto: int | None, *, by: str) -> None:
        """Set the channel's reading and progress at once (a syllabus step)."""
        await self.use(platform, channel_id, reading_id, by=by)
        if upto is None:
            await self.progress_store.clear(platform, channel_id, reading_id)
            return
        named = [s for s in await self.sections(reading_id) if s.order == upto]
        label = named[0].label if named else f"section {upto + 1}"
        await self.progress_store.set(
            platform, channel_id, reading_id, order=upto, section=label, by=by, now=self.clock.now()
        )
