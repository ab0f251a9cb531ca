"""The insights report posted on a schedule to a moderators' channel (optional), from ``readbot.toml``:

    [insights]
    platform = "slack"      # or "discord" ("console" for `readbot chat`)
    channel = "C0MODS01"    # the moderators' channel: the report lists members' questions
    cron = "0 9 * * 1"      # minute hour day month weekday (here: Mondays 09:00)
    timezone = "Europe/Berlin"
    days = 7                # how far back each report looks (default 7)

Each scheduled time is posted once, even with several readbot processes on one database (the event
log decides: the first process to claim the time posts). A time missed while readbot was down is not
posted late. Anything wrong stops start-up with one line naming the key.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from bot.ask.answers import AnswerLog
from bot.ask.insights import gather
from bot.clock import Clock
from bot.core.config import DEFAULT_TIMEZONE, channel_entry, time_zone
from bot.core.events import Channel, Reply, Where
from bot.core.outbox import Outbox
from bot.errors import ConfigError
from bot.store.events import EventLog

log = logging.getLogger(__name__)

KEYS = ("platform", "channel", "cron", "timezone", "days")


@dataclass(frozen=True)
class WeeklyReport:
    platform: str
    channel: str
    cron: str
    timezone: ZoneInfo
    days: int = 7

    def next_after(self, now: datetime) -> datetime:
        """The next scheduled instant strictly after ``now`` (aware, in UTC)."""
        local = now.astimezone(self.timezone).replace(second=0, microsecond=0)
        return next(CronSim(self.cron, local)).astimezone(now.tzinfo)


def parse_weekly(data: dict[str, object], path: Path) -> WeeklyReport | None:
    raw = data.get("insights")
    if raw is None:
        return None
    entry = channel_entry(raw, f"{path} [insights]", keys=KEYS, required=("platform", "channel", "cron"))
    assert isinstance(raw, dict)  # channel_entry checked it is a table
    where, cron = entry.where, raw["cron"]
    if not isinstance(cron, str):
        raise ConfigError(f'{where}: bad cron {cron!r}: expected text such as "0 9 * * 1"')
    try:
        CronSim(cron, datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ConfigError(f"{where}: bad cron {cron!r}: {exc}") from None
    zone = time_zone(raw.get("timezone", DEFAULT_TIMEZONE), where)
    days = raw.get("days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
        raise ConfigError(f"{where}: days {days!r}: expected a whole number from 1 to 366")
    return WeeklyReport(entry.platform, entry.channel, cron, zone, days)


def load_weekly(path: Path) -> WeeklyReport | None:
    """The ``[insights]`` table of ``readbot.toml``; None without the file or the table."""
    if not path.is_file():
        return None  # a missing file, or one that isn't a file: the prompts' loader says which
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None  # the prompts' loader reports a broken file with one line
    return parse_weekly(data, path)


class WeeklyPoster:
    """The background task: sleep until the next scheduled time, claim it, post the report."""

    def __init__(
        self, report: WeeklyReport, answers: AnswerLog, outbox: Outbox, clock: Clock, events: EventLog
    ) -> None:
        self.report = report
        self.answers = answers
        self.outbox = outbox
        self.clock = clock
        self.events = events

    async def run(self) -> None:
        while True:
            now = self.clock.now()
            due = self.report.next_after(now)
            await self.clock.sleep(max(0.0, (due - now).total_seconds()))
            try:
                await self.post(due)
            except Exception:
                log.exception("the insights report for %s could not be posted", due.isoformat())

    async def post(self, due: datetime) -> bool:
        """Post the report of ``due`` unless another process did; True if this one posted."""
        report = self.report
        if not self.outbox.runs(report.platform):
            log.info("insights report: %s is not running in this process; skipped", report.platform)
            return False
        if not await self.events.claim(f"insights:{report.platform}:{report.channel}:{due.isoformat()}"):
            return False
        found = await gather(self.answers, due, report.days)  # what /insights shows, up to the scheduled time
        where = Where(Channel(report.platform, report.channel))
        await self.outbox.send(where, Reply(found.text()))
        return True
