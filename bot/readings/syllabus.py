"""A syllabus: per channel, the readings in order with their start dates and an optional pace.

    [[syllabus]]
    platform = "discord"
    channel = "112233445566778899"
    timezone = "Europe/Berlin"
    readings = [ { reading = "kari-woodencoat", start = "2026-12-07", sections_per_week = 3 },
                 { reading = "black-arts", start = "2027-01-04" } ]

On each reading's start date (local midnight in the channel's timezone) the channel's reading
becomes that one. With ``sections_per_week = N`` its progress is the first N sections that week,
2N the next, and so on (each step at local midnight, a week after the last, across daylight-saving
changes); without a pace the whole reading is open. A moderator's ``/reading use`` or
``/reading progress`` stands until the syllabus's next step.

Mistakes stop start-up with one line naming the entry: a bad table, date, timezone or pace, dates
not in order, and (once the readings are known) an unknown reading or a pace that would still be
handing out a reading's sections when the next one starts.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.config import DEFAULT_TIMEZONE, channel_entry, time_zone
from bot.errors import ConfigError

KEYS = ("platform", "channel", "timezone", "readings")
READING_KEYS = {"reading", "start", "sections_per_week"}
MAX_PACE = 1000
SYLLABUS_BY = "syllabus"  # who set a channel's reading or progress, when the syllabus did


@dataclass(frozen=True)
class Entry:
    number: int  # from 1, as people count
    reading: str
    start: date
    sections_per_week: int | None = None


@dataclass(frozen=True)
class Syllabus:
    number: int
    platform: str
    channel: str
    timezone: ZoneInfo
    entries: tuple[Entry, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.channel)

    @property
    def label(self) -> str:
        return f"syllabus #{self.number} ({self.platform} {self.channel})"

    def midnight(self, day: date) -> datetime:
        """Local midnight of ``day`` in the channel's timezone, as a UTC instant."""
        return datetime.combine(day, time(0), tzinfo=self.timezone).astimezone(UTC)


@dataclass(frozen=True)
class Step:
    """From ``at`` (UTC) on, the channel reads ``reading`` up to section order ``upto`` (None: all of it)."""

    at: datetime
    day: date  # the local date of ``at``
    reading: str
    upto: int | None
    entry: Entry

    @property
    def key(self) -> str:
        return f"{self.reading}@{self.day.isoformat()}:{'' if self.upto is None else self.upto}"


def steps(syllabus: Syllabus, sections: Mapping[str, int]) -> list[Step]:
    """Every step of the syllabus in order; ``sections``: each reading's number of sections."""
    out: list[Step] = []
    for entry in syllabus.entries:
        pace = entry.sections_per_week
        count = sections.get(entry.reading, 0)
        if pace is None or count == 0:
            out.append(Step(syllabus.midnight(entry.start), entry.start, entry.reading, None, entry))
            continue
        for week in range(math.ceil(count / pace)):
            day = entry.start + timedelta(days=7 * week)
            out.append(Step(syllabus.midnight(day), day, entry.reading, min(pace * (week + 1), count) - 1, entry))
    return out


def step_at(all_steps: Sequence[Step], when: datetime) -> Step | None:
    """The step in force at ``when`` (None before the syllabus starts)."""
    current = None
    for step in all_steps:
        if step.at > when:
            break
        current = step
    return current


def next_step(all_steps: Sequence[Step], when: datetime) -> Step | None:
    return next((s for s in all_steps if s.at > when), None)


def check_readings(syllabi: Sequence[Syllabus], sections: Mapping[str, int], path: Path) -> None:
    """Once the readings are known: every entry names one, and a pace ends before the next start."""
    known = ", ".join(sorted(sections)) or "none"
    for syllabus in syllabi:
        for i, entry in enumerate(syllabus.entries):
            where = f"{path} {syllabus.label} reading #{entry.number} ({entry.reading})"
            if entry.reading not in sections:
                raise ConfigError(f"{where}: unknown reading {entry.reading!r} (readings: {known})")
            following = syllabus.entries[i + 1] if i + 1 < len(syllabus.entries) else None
            pace = entry.sections_per_week
            if following is None or pace is None or sections[entry.reading] == 0:
                continue
            weeks = math.ceil(sections[entry.reading] / pace)
            last = entry.start + timedelta(days=7 * (weeks - 1))
            if last >= following.start:
                raise ConfigError(
                    f"{where}: overlaps reading #{following.number} ({following.reading}): its "
                    f"{sections[entry.reading]} sections at {pace} a week run to the week of {last.isoformat()}, "
                    f"but {following.reading} starts {following.start.isoformat()}"
                )


def _date(raw: object, where: str) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: start {raw!r} is not a date written YYYY-MM-DD")


def _entry(raw: object, number: int, where: str) -> Entry:
    where = f"{where} reading #{number}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected {{ reading = ID, start = YYYY-MM-DD [, sections_per_week = N] }}")
    reading = raw.get("reading")
    if isinstance(reading, str) and reading.strip():
        where = f"{where} ({reading.strip()})"
    unknown = sorted(set(raw) - READING_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(sorted(READING_KEYS))})")
    for key in ("reading", "start"):
        if key not in raw:
            raise ConfigError(f"{where}: missing {key!r}")
    if not isinstance(reading, str) or not reading.strip():
        raise ConfigError(f"{where}: reading {reading!r} is not a reading id")
    pace = raw.get("sections_per_week")
    if pace is not None and (isinstance(pace, bool) or not isinstance(pace, int) or not 1 <= pace <= MAX_PACE):
        raise ConfigError(f"{where}: sections_per_week {pace!r} must be a whole number from 1 to {MAX_PACE}")
    return Entry(number, reading.strip(), _date(raw["start"], where), pace)


def _syllabus(path: Path, number: int, raw: Any) -> Syllabus:
    table = channel_entry(raw, f"{path} syllabus #{number}", keys=KEYS, required=("platform", "channel", "readings"))
    where = table.where
    zone = time_zone(raw.get("timezone", DEFAULT_TIMEZONE), where)
    listed = raw["readings"]
    if not isinstance(listed, list) or not listed:
        raise ConfigError(f"{where}: readings must be a list of {{ reading = ID, start = YYYY-MM-DD }}, at least one")
    entries: list[Entry] = []
    for n, item in enumerate(listed, 1):
        entry = _entry(item, n, where)
        if entries and entry.start <= entries[-1].start:
            before = entries[-1]
            how = "the same day as" if entry.start == before.start else "before"
            raise ConfigError(
                f"{where} reading #{n} ({entry.reading}): starts {entry.start.isoformat()}, {how} reading "
                f"#{before.number} ({before.reading}, {before.start.isoformat()}): list readings in date order"
            )
        entries.append(entry)
    return Syllabus(number, table.platform, table.channel, zone, tuple(entries))


def parse_syllabus(text: str, path: Path) -> tuple[Syllabus, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    raw = data.get("syllabus", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: syllabus must be written [[syllabus]] (a list of entries)")
    out: list[Syllabus] = []
    for number, item in enumerate(raw, 1):
        syllabus = _syllabus(path, number, item)
        earlier = next((s for s in out if s.key == syllabus.key), None)
        if earlier is not None:
            raise ConfigError(
                f"{path} {syllabus.label}: a second syllabus for the channel of syllabus #{earlier.number}: "
                "list all its readings in one"
            )
        out.append(syllabus)
    return tuple(out)


def load_syllabus(path: Path) -> tuple[Syllabus, ...]:
    """The [[syllabus]] entries of ``readbot.toml``; none if it does not exist."""
    if not path.is_file():
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: can't be read: {exc}") from None
    return parse_syllabus(text, path)
