"""Crontab expressions and the instants they name in an IANA time zone.

Semantics are those of the classic (Vixie/cronie) crontab:

* five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec),
  day of week (0-7 or sun-sat; Sunday is 0 or 7);
* each field is ``*`` or a comma-separated list of ``N``, ``A-B``, ``*/S``, ``A-B/S``, ``N/S``
  (``N/S`` means ``N-max/S``);
* when both day of month and day of week are restricted (neither starts with ``*``), a day
  matches if *either* matches; otherwise both must (the unrestricted one always does);
* the macros ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``
  and ``@hourly``.

Times are wall-clock times in the schedule's zone, so a 09:00 prompt stays at 09:00 local
time across daylight-saving changes. A wall time that does not exist that day (the clocks
spring forward over it) resolves to the next valid minute (02:30 → 03:00); several such
times collapse into that one instant. A wall time that happens twice (the clocks fall back)
resolves to its first occurrence only. So every wall-clock time names at most one instant,
and each instant is named once.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)
SEARCH_YEARS = 9  # "0 0 29 2 *" needs up to 8 years (1896 → 1904); nothing valid needs more
DST_MARGIN = timedelta(hours=3)  # larger than any UTC offset change in the tz database

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


class CronError(ValueError):
    """A crontab expression that can't be used; the message says which part and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: dict[str, int] | None = None


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, MONTH_NAMES),
    _Field("day of week", 0, 7, DAY_NAMES),
)


def _number(spec: _Field, raw: str) -> int:
    text = raw.strip().lower()
    if spec.names and text in spec.names:
        return spec.names[text]
    if not text.isdigit():
        raise CronError(f"{spec.name} {raw!r} is not a number")
    value = int(text)
    if not spec.lo <= value <= spec.hi:
        raise CronError(f"{spec.name} {value} out of range {spec.lo}-{spec.hi}")
    return value


def _parse_field(spec: _Field, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{spec.name} {text!r} has an empty list item")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{spec.name} step {step_text!r} must be a whole number of at least 1")
            step = int(step_text)
        if body == "*":
            lo, hi = spec.lo, spec.hi
        elif "-" in body:
            first, _, last = body.partition("-")
            lo, hi = _number(spec, first), _number(spec, last)
            if lo > hi:
                raise CronError(f"{spec.name} range {first}-{last} is backwards")
        else:
            lo = _number(spec, body)
            hi = spec.hi if slash else lo  # "N/S" means N-max/S
        values.update(range(lo, hi + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed crontab expression. ``weekdays`` uses 0 = Sunday … 6 = Saturday."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        if not isinstance(text, str):
            raise CronError("expected text such as '0 9 * * 1-5'")
        source = " ".join(text.split())
        expanded = MACROS.get(source.lower(), source)
        if expanded.startswith("@"):
            raise CronError(f"unknown macro {source!r}: expected one of {', '.join(MACROS)}")
        parts = expanded.split(" ")
        if len(parts) != 5:
            raise CronError(f"expected 5 fields (minute hour day month weekday), got {len(parts) if source else 0}")
        minutes, hours, days, months, weekdays = (_parse_field(f, p) for f, p in zip(FIELDS, parts, strict=True))
        weekdays = frozenset(d % 7 for d in weekdays)  # Sunday is 0 or 7
        cron = cls(
            source,
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_restricted=not parts[2].startswith("*"),
            weekdays_restricted=not parts[4].startswith("*"),
        )
        if not cron._some_day_matches():
            raise CronError("never matches: no month has such a day")
        return cron

    @property
    def key(self) -> tuple[object, ...]:
        """What the expression means (two spellings of one schedule compare equal)."""
        return (
            self.minutes,
            self.hours,
            self.days,
            self.months,
            self.weekdays,
            self.days_restricted,
            self.weekdays_restricted,
        )

    def _some_day_matches(self) -> bool:
        if self.weekdays_restricted or not self.days_restricted:
            return True  # some weekday always falls in any month
        longest = {m: 29 if m == 2 else calendar.monthrange(2001, m)[1] for m in self.months}
        return any(d <= longest[m] for m in self.months for d in self.days)

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday
        return by_day and by_weekday

    def times_of_day(self) -> list[time]:
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]

    def after(self, start: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """The instants (UTC, ascending, unique) this schedule names in ``tz``, strictly after ``start``."""
        start = start.astimezone(UTC)
        local_start = start.astimezone(tz).replace(tzinfo=None)
        floor = local_start - DST_MARGIN  # wall times before this resolve to instants before start
        day = floor.date()
        last_day = day + timedelta(days=366 * SEARCH_YEARS)
        times = self.times_of_day()
        previous: datetime | None = None
        while day <= last_day:
            if self.matches_day(day):
                for t in times:
                    wall = datetime.combine(day, t)
                    if wall < floor:
                        continue
                    instant = resolve(wall, tz)
                    if instant > start and instant != previous:
                        previous = instant
                        yield instant
            day += timedelta(days=1)

    def next_after(self, start: datetime, tz: ZoneInfo) -> datetime | None:
        return next(self.after(start, tz), None)

    def between(self, start: datetime, end: datetime, tz: ZoneInfo) -> list[datetime]:
        """Instants in (start, end]."""
        found = []
        for instant in self.after(start, tz):
            if instant > end:
                break
            found.append(instant)
        return found


def exists(wall: datetime, tz: ZoneInfo) -> bool:
    aware = wall.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def resolve(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time in ``tz``: its first occurrence when the
    clocks fall back over it, the next valid minute when they spring forward over it."""
    wall = wall.replace(tzinfo=None)
    moved = wall
    while not exists(moved, tz):
        moved += MINUTE
        if moved - wall > timedelta(days=2):  # no zone skips more than a day
            raise ValueError(f"{wall} never becomes valid in {tz.key}")
    return moved.replace(tzinfo=tz, fold=0).astimezone(UTC)
