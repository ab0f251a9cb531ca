"""Crontab semantics and wall-clock times across daylight-saving changes (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.prompts.cron import Cron, CronError, resolve

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(expr: str, start: datetime, count: int, tz: ZoneInfo = BERLIN) -> list[str]:
    times = Cron.parse(expr).after(start, tz)
    return [f"{t.astimezone(tz):%a %Y-%m-%d %H:%M %Z}" for _, t in zip(range(count), times, strict=False)]


def days(expr: str, first: date, last: date) -> list[int]:
    """Days of the month in [first, last] on which the expression fires."""
    cron = Cron.parse(expr)
    found, day = [], first
    while day <= last:
        if cron.matches_day(day):
            found.append(day.day)
        day += timedelta(days=1)
    return found


MARCH = (date(2026, 3, 1), date(2026, 3, 31))  # 1 March 2026 is a Sunday


# ------------------------------------------------------------------ fields


@pytest.mark.parametrize(
    ("expr", "minutes", "hours"),
    [
        ("0 9 * * *", {0}, {9}),
        ("*/15 * * * *", {0, 15, 30, 45}, set(range(24))),
        ("5,35 8-10 * * *", {5, 35}, {8, 9, 10}),
        ("10-50/20 */6 * * *", {10, 30, 50}, {0, 6, 12, 18}),
        ("7/30 22/1 * * *", {7, 37}, {22, 23}),  # N/S means N-max/S
        ("  0   9  * *  *  ", {0}, {9}),
    ],
)
def test_minute_and_hour_fields(expr: str, minutes: set[int], hours: set[int]) -> None:
    cron = Cron.parse(expr)
    assert cron.minutes == minutes and cron.hours == hours


def test_weekday_ranges_steps_lists_and_sunday_as_0_or_7() -> None:
    assert days("0 9 * * 1-5", *MARCH)[:7] == [2, 3, 4, 5, 6, 9, 10]  # Monday to Friday
    assert days("0 9 * * 0", *MARCH) == days("0 9 * * 7", *MARCH) == [1, 8, 15, 22, 29]
    assert days("0 9 * * 5-7", *MARCH)[:4] == [1, 6, 7, 8]  # Friday, Saturday, Sunday (7)
    assert days("0 9 * * 1,3,5", *MARCH)[:4] == [2, 4, 6, 9]
    assert days("0 9 * * */2", *MARCH)[:4] == [1, 3, 5, 7]  # Sun, Tue, Thu, Sat
    assert days("0 9 * * mon-fri", *MARCH) == days("0 9 * * 1-5", *MARCH)
    assert days("0 9 * * SAT,sun", *MARCH)[:3] == [1, 7, 8]
    assert Cron.parse("0 9 * * 0-7").weekdays == set(range(7))


def test_day_of_month_and_weekday_are_ored_when_both_are_restricted() -> None:
    # the 13th, and every Friday (6, 13, 20, 27): classic crontab, not "Friday the 13th"
    assert days("0 9 13 * 5", *MARCH) == [6, 13, 20, 27]
    assert days("0 9 1,15 * 1", *MARCH) == [1, 2, 9, 15, 16, 23, 30]
    assert days("0 9 1-7 * 0", *MARCH) == [1, 2, 3, 4, 5, 6, 7, 8, 15, 22, 29]


def test_an_unrestricted_day_field_does_not_widen_the_other() -> None:
    assert days("0 9 13 * *", *MARCH) == [13]  # weekday * : only the 13th
    assert days("0 9 * * 5", *MARCH) == [6, 13, 20, 27]  # day * : only Fridays
    assert days("0 9 */2 * 5", *MARCH) == [13, 27]  # a field starting with * counts as unrestricted: AND
    assert days("0 9 1-31 * 5", *MARCH) == list(range(1, 32))  # restricted (even if it lists every day): OR


def test_months_by_number_and_name() -> None:
    cron = Cron.parse("0 9 1 jan,Jul-sep/2 *")
    assert cron.months == {1, 7, 9}
    assert local("0 9 1 jan,7 *", datetime(2026, 2, 1, tzinfo=UTC), 3) == [
        "Wed 2026-07-01 09:00 CEST",
        "Fri 2027-01-01 09:00 CET",
        "Thu 2027-07-01 09:00 CEST",
    ]


def test_macros() -> None:
    assert Cron.parse("@daily").key == Cron.parse("0 0 * * *").key
    assert Cron.parse("@weekly").key == Cron.parse("0 0 * * 7").key
    assert Cron.parse("@hourly").key == Cron.parse("0 * * * *").key


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("61 9 * * *", "minute 61 out of range 0-59"),
        ("0 24 * * *", "hour 24 out of range 0-23"),
        ("0 9 0 * *", "day of month 0 out of range 1-31"),
        ("0 9 * 13 *", "month 13 out of range 1-12"),
        ("0 9 * * 8", "day of week 8 out of range 0-7"),
        ("0 9 * *", "expected 5 fields"),
        ("0 0 9 * * *", "expected 5 fields"),
        ("", "expected 5 fields"),
        ("x 9 * * *", "minute 'x' is not a number"),
        ("0 9 * * fri-mon", "range fri-mon is backwards"),
        ("*/0 9 * * *", "step '0'"),
        ("0 9 1,,2 * *", "empty list item"),
        ("0 9 31 2 *", "never matches"),
        ("0 9 30,31 2 *", "never matches"),
        ("@reboot", "unknown macro"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message) as info:
        Cron.parse(expr)
    assert "\n" not in str(info.value)


def test_february_29th_and_31st_of_short_months() -> None:
    assert local("0 9 29 2 *", datetime(2026, 1, 1, tzinfo=UTC), 2) == [
        "Tue 2028-02-29 09:00 CET",
        "Sun 2032-02-29 09:00 CET",
    ]
    assert local("0 9 31 * *", datetime(2026, 3, 1, tzinfo=UTC), 3) == [
        "Tue 2026-03-31 09:00 CEST",
        "Sun 2026-05-31 09:00 CEST",
        "Fri 2026-07-31 09:00 CEST",
    ]


# ------------------------------------------------------------------ time zones and DST


def test_nine_oclock_stays_nine_oclock_local_across_both_changes() -> None:
    spring = local("0 9 * * *", datetime(2026, 3, 27, tzinfo=UTC), 4)
    assert spring == [
        "Fri 2026-03-27 09:00 CET",
        "Sat 2026-03-28 09:00 CET",
        "Sun 2026-03-29 09:00 CEST",
        "Mon 2026-03-30 09:00 CEST",
    ]
    utc = [
        t.hour
        for _, t in zip(
            range(4), Cron.parse("0 9 * * *").after(datetime(2026, 3, 27, tzinfo=UTC), BERLIN), strict=False
        )
    ]
    assert utc == [8, 8, 7, 7]
    assert local("0 9 * * *", datetime(2026, 10, 24, tzinfo=UTC), 3) == [
        "Sat 2026-10-24 09:00 CEST",
        "Sun 2026-10-25 09:00 CET",
        "Mon 2026-10-26 09:00 CET",
    ]


def test_a_time_skipped_by_spring_forward_posts_once_at_the_next_valid_minute() -> None:
    assert local("30 2 * * *", datetime(2026, 3, 28, 12, tzinfo=UTC), 3) == [
        "Sun 2026-03-29 03:00 CEST",
        "Mon 2026-03-30 02:30 CEST",
        "Tue 2026-03-31 02:30 CEST",
    ]
    # every minute of the missing hour collapses into one instant, shared with 03:00 itself
    assert local("* 2,3 * * *", datetime(2026, 3, 29, 0, 58, tzinfo=UTC), 4) == [
        "Sun 2026-03-29 03:00 CEST",
        "Sun 2026-03-29 03:01 CEST",
        "Sun 2026-03-29 03:02 CEST",
        "Sun 2026-03-29 03:03 CEST",
    ]
    assert local("0 2,3 * * *", datetime(2026, 3, 29, tzinfo=UTC), 2) == [
        "Sun 2026-03-29 03:00 CEST",
        "Mon 2026-03-30 02:00 CEST",
    ]


def test_a_time_repeated_by_fall_back_posts_once_at_its_first_occurrence() -> None:
    found = list(
        Cron.parse("30 2 * * *").between(
            datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC), BERLIN
        )
    )
    assert [f"{t:%d %H:%M}" for t in found] == ["25 00:30", "26 01:30"]  # 02:30 CEST once; then 02:30 CET
    hour = Cron.parse("*/20 2 * * *").between(
        datetime(2026, 10, 24, 23, 59, tzinfo=UTC), datetime(2026, 10, 25, 6, tzinfo=UTC), BERLIN
    )
    assert [f"{t:%H:%M}" for t in hour] == ["00:00", "00:20", "00:40"]  # not again in the repeated hour


def test_other_zones_and_utc() -> None:
    assert local("30 2 * * *", datetime(2026, 3, 7, tzinfo=UTC), 3, NEW_YORK) == [
        "Sat 2026-03-07 02:30 EST",
        "Sun 2026-03-08 03:00 EDT",
        "Mon 2026-03-09 02:30 EDT",
    ]
    assert local("0 9 * * 1-5", datetime(2026, 3, 27, tzinfo=UTC), 2, ZoneInfo("UTC")) == [
        "Fri 2026-03-27 09:00 UTC",
        "Mon 2026-03-30 09:00 UTC",
    ]
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift: 02:00 → 02:30 on 2026-10-04
    assert local("15 2 * * *", datetime(2026, 10, 3, tzinfo=UTC), 2, lord_howe)[0] == "Sun 2026-10-04 02:30 +11"


def test_resolve_gives_one_instant_per_wall_time() -> None:
    assert resolve(datetime(2026, 3, 29, 2, 30), BERLIN) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert resolve(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert resolve(datetime(2026, 7, 1, 9, 0), BERLIN) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_instants_are_strictly_after_the_start_ascending_and_unique() -> None:
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    found = Cron.parse("* * * * *").between(start, start + timedelta(hours=3), BERLIN)
    assert found[0] == start + timedelta(minutes=1)
    assert found == sorted(set(found))
    assert len(found) == 3 * 60  # every UTC minute once: the skipped wall-clock hour loses no instant
