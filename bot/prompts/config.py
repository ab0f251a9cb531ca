"""``readbot.toml`` (or READBOT_CONFIG): the prompt schedules.

    [[schedule]]
    platform = "slack"        # or "discord" ("console" for `readbot chat`)
    channel = "C0123456"
    cron = "0 9 * * 1-5"      # minute hour day month weekday; Sunday = 0 or 7
    timezone = "Europe/Berlin"

A missing file means no schedules. Anything wrong stops start-up with one line naming
the entry: ``readbot.toml schedule #2 (slack C0123456): bad cron '61 9 * * *': minute 61
out of range 0-59``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.config import DEFAULT_TIMEZONE, channel_entry, time_zone
from bot.errors import ConfigError
from bot.prompts.cron import Cron, CronError

KEYS = ("platform", "channel", "cron", "timezone")


@dataclass(frozen=True)
class Schedule:
    """One ``[[schedule]]`` entry (``number`` counts from 1, as people do)."""

    number: int
    platform: str
    channel: str
    cron: Cron
    timezone: ZoneInfo

    @property
    def label(self) -> str:
        return f"schedule #{self.number} ({self.platform} {self.channel})"


@dataclass(frozen=True)
class ChannelPlan:
    """Every schedule of one channel: one timezone, one bank, one stream of slots."""

    platform: str
    channel: str
    timezone: ZoneInfo
    schedules: tuple[Schedule, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.channel)

    @property
    def label(self) -> str:
        return f"{self.platform} {self.channel}"

    @property
    def crons(self) -> tuple[str, ...]:
        return tuple(s.cron.text for s in self.schedules)

    def slots_after(self, start: datetime) -> Iterator[datetime]:
        """Scheduled instants (UTC) strictly after ``start``, ascending, each once."""
        streams = [s.cron.after(start, self.timezone) for s in self.schedules]
        heads = {i: next(stream, None) for i, stream in enumerate(streams)}
        previous = None
        while True:
            live = {i: t for i, t in heads.items() if t is not None}
            if not live:
                return
            i, instant = min(live.items(), key=lambda item: item[1])
            heads[i] = next(streams[i], None)
            if instant != previous:
                previous = instant
                yield instant

    def next_after(self, start: datetime) -> datetime | None:
        return next(self.slots_after(start), None)

    def between(self, start: datetime, end: datetime) -> list[datetime]:
        """Scheduled instants in (start, end]."""
        found = []
        for instant in self.slots_after(start):
            if instant > end:
                break
            found.append(instant)
        return found


@dataclass(frozen=True)
class PromptConfig:
    path: Path
    schedules: tuple[Schedule, ...] = ()

    def channels(self) -> list[ChannelPlan]:
        by_channel: dict[tuple[str, str], list[Schedule]] = {}
        for schedule in self.schedules:
            by_channel.setdefault((schedule.platform, schedule.channel), []).append(schedule)
        return [ChannelPlan(p, c, found[0].timezone, tuple(found)) for (p, c), found in by_channel.items()]


def _entry(path: Path, number: int, raw: Any) -> Schedule:
    entry = channel_entry(raw, f"{path} schedule #{number}", keys=KEYS, required=("platform", "channel", "cron"))
    where = entry.where
    cron_text = raw["cron"]
    try:
        cron = Cron.parse(cron_text)
    except CronError as exc:
        raise ConfigError(f"{where}: bad cron {cron_text!r}: {exc}") from None
    zone = time_zone(raw.get("timezone", DEFAULT_TIMEZONE), where)
    return Schedule(number, entry.platform, entry.channel, cron, zone)


def parse_config(text: str, path: Path) -> PromptConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    # [[syllabus]]: bot/readings/syllabus.py; [insights]: the weekly report (bot.ask.weekly)
    unknown = sorted(set(data) - {"schedule", "syllabus", "insights"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown section {unknown[0]!r} (expected [[schedule]] or [[syllabus]] entries, or [insights])"
        )
    entries = data.get("schedule", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: schedule must be written [[schedule]] (a list of entries)")
    schedules: list[Schedule] = []
    for number, raw in enumerate(entries, 1):
        schedule = _entry(path, number, raw)
        for earlier in schedules:
            if (earlier.platform, earlier.channel) != (schedule.platform, schedule.channel):
                continue
            if earlier.cron.key == schedule.cron.key:
                raise ConfigError(
                    f"{path} {schedule.label}: duplicate of schedule #{earlier.number} (same channel and times)"
                )
            if earlier.timezone.key != schedule.timezone.key:
                raise ConfigError(
                    f"{path} {schedule.label}: timezone {schedule.timezone.key!r} differs from "
                    f"{earlier.timezone.key!r} in schedule #{earlier.number} for the same channel"
                )
        schedules.append(schedule)
    return PromptConfig(path, tuple(schedules))


def load_config(path: Path) -> PromptConfig:
    """The schedules in ``path``; none if it does not exist."""
    if not path.exists():
        return PromptConfig(path)
    if not path.is_file():
        raise ConfigError(f"{path}: not a file (READBOT_CONFIG names the prompt schedule file)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: can't be read: {exc}") from None
    return parse_config(text, path)
