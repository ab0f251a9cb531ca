"""Crontab expressions and the instants they name in an IANA time zone, through ``cronsim``.

cronsim (the parser and evaluator of Healthchecks.io) does the matching and the walking
through time; its semantics are those of Debian's cron (Vixie/cronie):

* five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec),
  day of week (0-7 or sun-sat; Sunday is 0 or 7), each ``*`` or a list of ``N``, ``A-B``,
  ``*/S``, ``A-B/S``, ``N/S`` (``N/S`` means ``N-max/S``); cronsim also reads ``L`` (last
  day of the month), ``LW``, ``5L`` (the last Friday) and ``5#2`` (the second Friday);
* when both day of month and day of week are restricted (neither starts with ``*``), a day
  matches if *either* matches; otherwise both must.

This module adds what readbot promises on top (the shim, kept small):

* the macros ``@yearly``/``@annually``, ``@monthly``, ``@weekly``, ``@daily``/``@midnight``,
  ``@hourly``, and exactly five fields (cronsim would read six as a leading seconds field);
* error messages that say which field and why (cronsim only says ``Bad minute``);
* a wall time that happens twice (the clocks fall back) names its first occurrence only,
  also for ``*``-minute or ``*``-hour schedules, which cronsim runs again in the repeated
  hour; a wall time skipped by spring-forward is cronsim's: the next valid minute
  (02:30 → 03:00), several such times collapsing into that one instant.

So every wall-clock time names at most one instant, and each instant is named once.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

MINUTE = timedelta(minutes=1)
SEARCH_YEARS = 50  # cronsim stops looking after 50 years without a match
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
Weekday = int | tuple[int, int]  # 0 = Sunday … 6; (weekday, n) for cronsim's "5#2" and (weekday, CronSim.LAST)


class CronError(ValueError):
    """A crontab expression that can't be used; the message says which part and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: dict[str, int] | None = None
    extras: str = "$^"  # cronsim's own items this field may hold (a regular expression)


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31, extras=r"(?i)LW?"),  # last day, last weekday
    _Field("month", 1, 12, MONTH_NAMES),
    _Field("day of week", 0, 7, DAY_NAMES, r"(?i)\d+(L|#[1-5])"),  # 5L last Friday, 5#2 second Friday
)


def _complaint(parts: list[str]) -> str | None:
    """What is wrong with the fields cronsim refused, in words (None: no field is at fault)."""

    def number(spec: _Field, raw: str) -> int | str:
        text = raw.lower()
        value = (spec.names or {}).get(text)
        if value is None and not text.isdigit():
            return f"{spec.name} {raw!r} is not a number"
        value = int(text) if value is None else value
        return value if spec.lo <= value <= spec.hi else f"{spec.name} {value} out of range {spec.lo}-{spec.hi}"

    for spec, text in zip(FIELDS, parts, strict=True):
        for item in text.split(","):
            if not item:
                return f"{spec.name} {text!r} has an empty list item"
            if re.fullmatch(spec.extras, item):
                continue
            body, slash, step = item.partition("/")
            if slash and (not step.isdigit() or int(step) == 0):
                return f"{spec.name} step {step!r} must be a whole number of at least 1"
            ends = [number(spec, end) for end in ([] if body == "*" else body.split("-", 1))]
            if problem := next((e for e in ends if isinstance(e, str)), None):
                return problem
            if len(ends) == 2 and int(ends[0]) > int(ends[1]):
                return f"{spec.name} range {body} is backwards"
    return None


def _weekday(value: Weekday) -> Weekday:
    return value % 7 if isinstance(value, int) else (value[0] % 7, value[1])


@dataclass(frozen=True)
class Cron:
    """A parsed crontab expression. ``weekdays`` uses 0 = Sunday … 6 = Saturday."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[Weekday]
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
        try:
            sim = CronSim(expanded, datetime(2001, 1, 1))
        except CronSimError as exc:  # every field may be fine alone: then the days can't be in those months
            never = "never matches: no month has such a day" if str(exc) == "Bad day-of-month" else None
            raise CronError(_complaint(parts) or never or f"cronsim: {exc}") from None
        return cls(
            source,
            frozenset(sim.minutes),
            frozenset(sim.hours),
            frozenset(sim.days),
            frozenset(sim.months),
            frozenset(map(_weekday, sim.weekdays)),
            days_restricted=not parts[2].startswith("*"),
            weekdays_restricted=not parts[4].startswith("*"),
        )

    @property
    def expression(self) -> str:
        """The five fields cronsim reads (a macro expanded)."""
        return MACROS.get(self.text.lower(), self.text)

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

    def matches_day(self, day: date) -> bool:
        return day.month in self.months and CronSim(self.expression, datetime(2001, 1, 1)).match_day(day)

    def times_of_day(self) -> list[time]:
        return [time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes)]

    def after(self, start: datetime, tz: ZoneInfo) -> Iterator[datetime]:
        """The instants (UTC, ascending, unique) this schedule names in ``tz``, strictly after ``start``."""
        start = start.astimezone(UTC)
        previous: datetime | None = None
        for local in CronSim(self.expression, start.astimezone(tz)):
            instant = local.astimezone(UTC)
            # fold=1: the second pass through a repeated hour; an instant before start: cronsim, given a
            # start in that second pass, works in wall time and names the hour's first pass again
            if local.fold or instant <= start or instant == previous:
                continue
            previous = instant
            yield instant

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
