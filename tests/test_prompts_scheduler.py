"""The prompt scheduler on a hand-moved clock against real databases (SQLite and PostgreSQL):
exactly once across restarts and processes, catch-up within the grace period, DST, the bank's
cycles, retries, and the preview."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.core.outbox import Outbox
from bot.prompts.bank import Question, load_questions
from bot.prompts.config import ChannelPlan, parse_config
from bot.prompts.preview import preview
from bot.prompts.scheduler import PromptScheduler
from bot.prompts.service import PromptService
from bot.store.db import Database, database_url
from bot.store.schema import prompt_claims
from tests.fakes.recording import RecordingAdapter
from tests.polls_support import open_database, postgres_url

pytestmark = pytest.mark.asyncio
DATABASES = ["sqlite", "postgresql"]
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # Berlin is UTC+1 until 29 March: 09:00 local = 08:00 UTC
T = TypeVar("T")


class StepClock(ManualClock):
    """A ManualClock that counts sleeps, so a test knows the loop has gone back to sleep."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await super().sleep(seconds)

    def set(self, when: datetime) -> None:
        self.advance(seconds=(when - self.now()).total_seconds())


def plan(cron: str, *, platform: str = "slack", channel: str = "C1", tz: str = "Europe/Berlin") -> ChannelPlan:
    text = f'[[schedule]]\nplatform = "{platform}"\nchannel = "{channel}"\ncron = "{cron}"\ntimezone = "{tz}"\n'
    return parse_config(text, Path("readbot.toml")).channels()[0]


def scheduler(
    db: Database,
    clock: ManualClock,
    plans: list[ChannelPlan],
    adapter: RecordingAdapter | None = None,
    *,
    bank: list[Question] | None = None,
    grace_minutes: int = 120,
    name: str = "test",
) -> tuple[PromptScheduler, RecordingAdapter]:
    outbox = Outbox()
    adapter = adapter or RecordingAdapter(plans[0].platform if plans else "slack")
    outbox.register(adapter)  # type: ignore[arg-type]
    service = PromptService(db, bank or load_questions())
    return PromptScheduler(service, outbox, clock, plans, grace=timedelta(minutes=grace_minutes), name=name), adapter


async def until(condition: Callable[[], bool], what: str = "condition") -> None:
    for _ in range(4000):  # up to 20 s on a loaded machine; no clock time passes here
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def pumped(clock: StepClock, work: Awaitable[T], step: float = 300) -> T:
    """Run ``work`` that sleeps on ``clock``, moving the clock whenever it waits."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.sleep(0.01)
        clock.advance(seconds=step)
    return task.result()


async def claim_rows(db: Database) -> list[dict[str, Any]]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(prompt_claims).order_by(prompt_claims.c.slot_utc))).all()
    return [dict(r._mapping) for r in rows]


def utc_of(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SMALL_BANK = [
    Question(f"q{i}", f"Question number {i}, what do you think?", "Summary", f"passage {i} from the reading")
    for i in range(1, 4)
]


# ------------------------------------------------------------------ on time, once


@pytest.mark.parametrize("kind", DATABASES)
async def test_posts_at_the_scheduled_local_time_once_in_a_thread_ready_form(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        clock = StepClock(MONDAY.replace(hour=7, minute=59, second=30))
        sched, adapter = scheduler(db, clock, [plan("0 9 * * 1-5")])
        assert await sched.tick() == [] and adapter.sent == []
        clock.advance(seconds=30)
        outcomes = await sched.tick()
        assert [o.status for o in outcomes] == ["posted"]
        assert await sched.tick() == []  # the same minute again: nothing
        clock.advance(seconds=40)
        assert await sched.tick() == []
        where, reply = adapter.sent[0]
        assert where.channel.platform == "slack" and where.channel.id == "C1" and where.thread_id is None
        question = outcomes[0].job.question
        assert reply.start_thread is True and reply.thread_title and len(reply.thread_title) <= 80
        assert question.question in reply.text and f"“{question.section}”" in reply.text
        assert question.passage in reply.text
        assert "Mention @readbot in this thread to ask about the reading." in reply.text
        for mass in ("@everyone", "@here", "@channel", "<!"):
            assert mass not in reply.text
        [row] = await claim_rows(db)
        assert utc_of(row["slot_utc"]) == MONDAY.replace(hour=8)
        assert (row["status"], row["message_id"], row["question_id"], row["attempts"]) == (
            "posted",
            "msg-1",
            question.id,
            1,
        )


async def test_weekday_schedule_over_a_week(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(MONDAY)
        sched, adapter = scheduler(db, clock, [plan("0 9 * * 1-5")])
        await sched.tick()
        for _ in range(7 * 6):  # every 4 hours for a week
            clock.advance(hours=4)
            await sched.tick()
        slots = [utc_of(r["slot_utc"]) for r in await claim_rows(db)]
        assert [f"{s:%a %H:%M}" for s in slots] == [f"{d} 08:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]
        assert len(adapter.sent) == 5 and len(set(adapter.questions())) == 5


async def test_a_platform_this_process_does_not_run_is_skipped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.prompts")
    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(MONDAY.replace(hour=7, minute=59))
        plans = [plan("0 9 * * *"), plan("0 9 * * *", platform="discord", channel="99")]
        sched, adapter = scheduler(db, clock, plans)
        for _ in range(3):
            await sched.tick()
            clock.advance(minutes=1)
        assert len(adapter.sent) == 1 and adapter.sent[0][0].channel.platform == "slack"
        skipped = [r.getMessage() for r in caplog.records if "does not run" in r.getMessage()]
        assert skipped == ["prompt schedule #1 (discord 99) skipped: this process does not run discord"]


# ------------------------------------------------------------------ restarts and missed slots


@pytest.mark.parametrize("kind", DATABASES)
async def test_a_restart_in_the_middle_of_the_day_does_not_repost(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        clock = StepClock(MONDAY.replace(hour=8))
        first, adapter = scheduler(db, clock, [plan("0 9 * * *")], name="first")
        await first.tick()  # watched from 08:00 UTC: nothing due yet... the slot is exactly now
        assert adapter.sent == []  # a channel never watched before starts from now
        clock.advance(days=1)
        assert len(await first.tick()) == 1  # Tuesday 09:00
        for later in (timedelta(seconds=20), timedelta(hours=4)):  # a new process, same minute / later that day
            again, other = scheduler(db, StepClock(clock.now() + later), [plan("0 9 * * *")], name="again")
            assert await again.tick() == [] and other.sent == []
        clock.set(MONDAY.replace(hour=8) + timedelta(days=2))
        restarted, new_adapter = scheduler(db, clock, [plan("0 9 * * *")], name="restarted")
        assert len(await restarted.tick()) == 1  # Wednesday 09:00: posted by the new process, once
        assert [o.status for o in await first.tick()] == []  # the old one (still running) does not post it
        assert len(adapter.sent) + len(new_adapter.sent) == 2
        assert [r["status"] for r in await claim_rows(db)] == ["posted", "posted"]


async def test_a_slot_missed_while_down_is_posted_at_start_up_within_the_grace_period(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.prompts")
    async with open_database("sqlite", tmp_path) as db:
        running, _ = scheduler(db, StepClock(MONDAY.replace(hour=7)), [plan("0 9 * * *")])
        await running.tick()  # readbot was up at 08:00 local, then went down
        back, adapter = scheduler(db, StepClock(MONDAY.replace(hour=9, minute=30)), [plan("0 9 * * *")])
        assert [o.status for o in await back.tick()] == ["posted"]  # 90 minutes late: posted once
        assert await back.tick() == []
        assert any("1 h 30 min late: posting it now" in r.getMessage() for r in caplog.records)
        assert len(adapter.sent) == 1


@pytest.mark.parametrize("late", [timedelta(minutes=120), timedelta(hours=5), timedelta(days=3)])
async def test_a_slot_missed_by_the_grace_period_or_more_is_skipped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, late: timedelta
) -> None:
    caplog.set_level(logging.INFO, "bot.prompts")
    async with open_database("sqlite", tmp_path) as db:
        running, _ = scheduler(db, StepClock(MONDAY.replace(hour=7)), [plan("0 9 * * 1")])  # Mondays only
        await running.tick()
        back, adapter = scheduler(db, StepClock(MONDAY.replace(hour=8) + late), [plan("0 9 * * 1")])
        assert await back.tick() == [] and adapter.sent == []
        again, _ = scheduler(db, StepClock(MONDAY.replace(hour=8) + late + timedelta(minutes=5)), [plan("0 9 * * 1")])
        assert await again.tick() == []
        missed = [r.getMessage() for r in caplog.records if "was missed by" in r.getMessage()]
        assert (
            len(missed) == 1
            and "Mon 2 Mar 09:00 CET" in missed[0]
            and missed[0].endswith("skipped (more than 120 min late)")
        )
        assert [r["status"] for r in await claim_rows(db)] == ["missed"]


async def test_of_several_missed_slots_only_the_latest_within_the_window_is_posted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.prompts")
    async with open_database("sqlite", tmp_path) as db:
        cron = "0 9,10,11 * * *"
        running, _ = scheduler(db, StepClock(MONDAY.replace(hour=7)), [plan(cron)])
        await running.tick()
        back, adapter = scheduler(db, StepClock(MONDAY.replace(hour=10, minute=30)), [plan(cron)])
        [outcome] = await back.tick()
        assert outcome.job.slot == MONDAY.replace(hour=10) and len(adapter.sent) == 1  # 11:00 local
        missed = [r.getMessage() for r in caplog.records if "was missed by" in r.getMessage()]
        assert len(missed) == 2 and "09:00 CET" in missed[0] and "10:00 CET" in missed[1]
        assert missed[0].endswith("skipped (more than 120 min late)")
        assert missed[1].endswith("skipped (a later prompt was due too; only the latest is posted)")
        assert [r["status"] for r in await claim_rows(db)] == ["missed", "missed", "posted"]


async def test_a_custom_grace_period(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        running, _ = scheduler(db, StepClock(MONDAY.replace(hour=7)), [plan("0 9 * * *")])
        await running.tick()
        back, adapter = scheduler(
            db, StepClock(MONDAY.replace(hour=8, minute=31)), [plan("0 9 * * *")], grace_minutes=30
        )
        assert await back.tick() == [] and adapter.sent == []

        # 0 minutes: nothing is caught up after a restart, but a slot is still posted on time
        clock = StepClock(MONDAY.replace(hour=8) + timedelta(days=1, seconds=-5))
        on_time, adapter = scheduler(db, clock, [plan("0 9 * * *")], grace_minutes=0)
        await on_time.tick()
        clock.advance(seconds=15)
        assert [o.status for o in await on_time.tick()] == ["posted"]


# ------------------------------------------------------------------ daylight saving, through the loop


async def run_loop_until(sched: PromptScheduler, clock: StepClock, end: datetime, step: timedelta) -> None:
    task = asyncio.create_task(sched.run())
    try:
        await until(lambda: len(clock.sleeps) >= 1, "the scheduler to sleep")
        while clock.now() < end:
            sleeps = len(clock.sleeps)
            clock.advance(seconds=step.total_seconds())
            await until(lambda s=sleeps: len(clock.sleeps) > s, "the scheduler to look again")  # type: ignore[misc]
            await sched.drain()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # spring forward, 29 March 2026: 02:30 does not exist; posted once at 03:00 CEST
        (datetime(2026, 3, 28, tzinfo=UTC), ["Sat 28 Mar 02:30 CET", "Sun 29 Mar 03:00 CEST", "Mon 30 Mar 02:30 CEST"]),
        # fall back, 25 October 2026: 02:30 happens twice; posted once, at the first
        (
            datetime(2026, 10, 24, tzinfo=UTC),
            ["Sat 24 Oct 02:30 CEST", "Sun 25 Oct 02:30 CEST", "Mon 26 Oct 02:30 CET"],
        ),
    ],
)
async def test_dst_days_post_once_through_the_running_loop(
    tmp_path: Path, start: datetime, expected: list[str]
) -> None:
    from bot.prompts.render import local_time

    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(start)
        schedule = plan("30 2 * * *")
        sched, adapter = scheduler(db, clock, [schedule])
        await run_loop_until(sched, clock, start + timedelta(days=3), timedelta(minutes=30))
        rows = await claim_rows(db)
        assert [local_time(utc_of(r["slot_utc"]), schedule.timezone) for r in rows] == expected
        assert [r["status"] for r in rows] == ["posted"] * 3 and len(adapter.sent) == 3
        assert max(clock.sleeps) <= 60  # the loop looks again at least every minute


# ------------------------------------------------------------------ the bank


async def test_the_bank_is_worked_through_without_repeats_then_reshuffled(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(MONDAY)
        sched, adapter = scheduler(db, clock, [plan("* * * * *")], bank=SMALL_BANK)
        await sched.tick()
        for _ in range(9):
            clock.advance(minutes=1)
            await sched.tick()
        ids = adapter.questions()
        cycles = [ids[0:3], ids[3:6], ids[6:9]]
        for cycle in cycles:
            assert sorted(cycle) == sorted(q.question for q in SMALL_BANK)  # each question once per cycle
        assert cycles[0] != cycles[1] and cycles[1] != cycles[2]  # a new order each cycle
        assert all(a != b for a, b in itertools.pairwise(ids))  # never the same twice in a row
        state = await sched.service.state("slack", "C1")
        assert state is not None and (state.cycle, state.position) == (3, 3)


async def test_the_shipped_bank_cycles_in_a_new_order_per_cycle_and_per_channel(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        service = PromptService(db, load_questions())
        size = len(service.shipped)
        taken = [(await service.take_next("slack", "C1", now=MONDAY)).id for _ in range(2 * size)]
        first, second = taken[:size], taken[size:]
        assert sorted(first) == sorted(second) == sorted(q.id for q in service.shipped)
        assert first != second and first[-1] != second[0]
        other = [(await service.take_next("slack", "C2", now=MONDAY)).id for _ in range(size)]
        assert other != first  # channels don't march in lockstep


@pytest.mark.parametrize("kind", DATABASES)
async def test_concurrent_takers_never_get_the_same_question_twice_in_a_cycle(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        second_db = await Database.open(db.url, migrate=False)  # a second engine, as another process has
        try:
            services = [PromptService(db, load_questions()), PromptService(second_db, load_questions())]
            size = len(load_questions())
            picks = await asyncio.gather(
                *(services[i % 2].take_next("discord", "42", now=MONDAY) for i in range(size + 10))
            )
        finally:
            await second_db.close()
        counts = Counter(q.id for q in picks)
        assert len(counts) == size and sorted(counts.values()) == [1] * (size - 10) + [2] * 10
        state = await services[0].state("discord", "42")
        assert state is not None and (state.cycle, state.position) == (2, 10)


async def test_preview_lists_local_and_utc_times_and_the_questions_without_using_them(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        config = parse_config(
            '[[schedule]]\nplatform = "slack"\nchannel = "C1"\ncron = "0 9 * * 1-5"\ntimezone = "Europe/Berlin"\n',
            Path("readbot.toml"),
        )
        clock = StepClock(datetime(2026, 3, 26, 12, tzinfo=UTC))  # a Thursday; DST starts on Sunday
        sched, adapter = scheduler(db, clock, config.channels(), bank=SMALL_BANK)
        service = sched.service
        text = await preview(service, config, clock.now(), 7)
        assert text == await preview(service, config, clock.now(), 7)  # nothing used up
        assert await service.state("slack", "C1") is None
        assert "slack C1 · Europe/Berlin · cron 0 9 * * 1-5" in text
        lines = [line for line in text.splitlines() if " UTC " in line and "] " in line]
        assert "Fri 27 Mar 09:00 CET" in lines[0] and "2026-03-27 08:00 UTC" in lines[0]
        assert "Mon 30 Mar 09:00 CEST" in lines[1] and "2026-03-30 07:00 UTC" in lines[1]
        assert len(lines) == 5 and "cycle 2 of the bank starts" in text
        previewed = [line.split("] ", 1)[1] for line in lines]
        await sched.tick()
        for _ in range(8 * 24):  # the scheduler then posts exactly what was previewed
            clock.advance(hours=1)
            await sched.tick()
        assert adapter.questions()[:5] == previewed

        skipped = await sched.skip_next(config.channels()[0], "mod")
        await service.set_paused("slack", "C1", True, now=clock.now())
        text = await preview(service, config, clock.now(), 3)
        assert "(paused: nothing is posted until a moderator runs /prompt resume)" in text
        assert skipped is not None and "skipped (skipped by moderator mod)" in text


# ------------------------------------------------------------------ failures


async def test_a_failed_post_is_retried_by_the_outbox_with_backoff_then_posted_once(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(MONDAY.replace(hour=8))
        sched, adapter = scheduler(db, clock, [plan("1 9 * * *")], RecordingAdapter(fail=2))
        await sched.tick()
        clock.advance(minutes=1)
        [outcome] = await sched.tick()  # the first try fails: owed, not lost
        assert (outcome.status, outcome.attempts, outcome.message_id) == ("pending", 0, None)
        assert await sched.deliveries.flush() == 0  # not due before its backoff (1 s)
        clock.advance(seconds=1)
        assert await sched.deliveries.flush() == 0 and adapter.attempts == 2  # fails again: next in 2 s
        clock.advance(seconds=1.5)
        assert await sched.deliveries.flush() == 0 and adapter.attempts == 2
        clock.advance(seconds=0.5)
        assert await sched.deliveries.flush() == 1 and len(adapter.sent) == 1
        [row] = await claim_rows(db)
        assert (row["status"], row["attempts"], row["message_id"]) == ("posted", 3, "msg-1")
        clock.advance(minutes=10)
        assert await sched.deliveries.flush() == 0 and len(adapter.sent) == 1  # delivered once


async def test_a_post_owed_when_readbot_stops_is_posted_by_the_next_start(tmp_path: Path) -> None:
    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(MONDAY.replace(hour=8))
        sched, adapter = scheduler(db, clock, [plan("1 9 * * *")], RecordingAdapter(fail=1))
        await sched.tick()
        clock.advance(minutes=1)
        [outcome] = await sched.tick()
        assert outcome.status == "pending" and adapter.sent == []
        clock.advance(seconds=30)  # readbot restarts: a new scheduler (and outbox) on the same database
        restarted, other = scheduler(db, clock, [plan("1 9 * * *")])
        assert await restarted.tick() == []  # the slot is decided: not claimed again
        assert await restarted.deliveries.flush() == 1
        assert len(other.sent) == 1 and other.questions() == [outcome.job.question.question]
        [row] = await claim_rows(db)
        assert (row["status"], row["attempts"], row["message_id"]) == ("posted", 2, "msg-1")


async def test_a_post_that_keeps_failing_for_24_hours_is_given_up_recorded_and_never_posted_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_database("sqlite", tmp_path) as db:
        clock = StepClock(MONDAY.replace(hour=8))
        sched, adapter = scheduler(db, clock, [plan("1 9 * * *")], RecordingAdapter(fail=10_000))
        await sched.tick()
        clock.advance(minutes=1)
        [outcome] = await sched.tick()
        assert outcome.status == "pending"
        waits = []
        while (await claim_rows(db))[0]["status"] == "claimed":
            before = adapter.attempts
            clock.advance(minutes=5)  # the longest backoff
            await sched.deliveries.flush()
            waits.append(adapter.attempts - before)
        assert set(waits) == {1} and 24 * 12 <= adapter.attempts <= 24 * 12 + 12  # every 5 min for a day
        assert "prompt.post for prompt:C1 given up" in caplog.text
        assert "could not be posted after" in caplog.text and "RuntimeError: platform error: 503" in caplog.text
        [row] = await claim_rows(db)
        assert row["status"] == "failed" and "503" in row["error"]
        adapter.fail = 0  # the platform is back: the failed slot stays failed, the claim row stays
        clock.advance(hours=1)
        assert await sched.deliveries.flush() == 0
        restarted, other = scheduler(db, StepClock(clock.now()), [plan("1 9 * * *")])
        assert await restarted.deliveries.flush() == 0 and other.sent == adapter.sent == []


# ------------------------------------------------------------------ two processes, one PostgreSQL


async def test_two_schedulers_on_one_postgresql_database_post_each_slot_exactly_once(tmp_path: Path) -> None:
    async with postgres_url() as url:
        dbs = [await Database.open(database_url(url, tmp_path)) for _ in range(2)]
        try:
            clocks = [StepClock(MONDAY.replace(hour=8)) for _ in dbs]
            pairs = [
                scheduler(db, clock, [plan("* * * * *"), plan("*/2 * * * *", channel="C2")], name=f"p{i}")
                for i, (db, clock) in enumerate(zip(dbs, clocks, strict=True))
            ]
            await asyncio.gather(*(s.tick() for s, _ in pairs))
            for _ in range(12):
                for clock in clocks:
                    clock.advance(minutes=1)
                await asyncio.gather(*(s.tick() for s, _ in pairs))
            sent = [(w.channel.id, r.text) for _, a in pairs for w, r in a.sent]
            rows = await claim_rows(dbs[0])
            assert Counter(r["channel_id"] for r in rows) == {"C1": 12, "C2": 6}
            assert len(sent) == 18 and all(r["status"] == "posted" for r in rows)
            assert {r["claimed_by"] for r in rows} <= {"p0", "p1"}
            questions = [t for c, t in sent if c == "C1"]
            assert len(set(questions)) == 12  # and the bank advanced once per post

            # both restart at once, 30 minutes after the next slot: one catches it up, the other doesn't
            restarted = [
                scheduler(db, StepClock(clocks[0].now() + timedelta(minutes=31)), [plan("* * * * *")], name=f"r{i}")
                for i, db in enumerate(dbs)
            ]
            results = await asyncio.gather(*(s.tick() for s, _ in restarted))
            assert sorted(len(r) for r in results) == [0, 1]
        finally:
            for db in dbs:
                await db.close()


async def test_many_racers_for_one_slot_on_postgresql(tmp_path: Path) -> None:
    async with postgres_url() as url:
        dbs = [await Database.open(database_url(url, tmp_path), migrate=i == 0) for i in range(3)]
        try:
            start = MONDAY.replace(hour=7, minute=59)
            racers = [scheduler(dbs[i % 3], StepClock(start), [plan("0 9 * * *")], name=f"r{i}") for i in range(6)]
            await asyncio.gather(*(s.tick() for s, _ in racers))
            for s, _ in racers:
                s.clock.advance(minutes=1)  # type: ignore[attr-defined]
            outcomes = await asyncio.gather(*(s.tick() for s, _ in racers))
            assert sum(len(o) for o in outcomes) == 1
            assert sum(len(a.sent) for _, a in racers) == 1
        finally:
            for db in dbs:
                await db.close()


# ------------------------------------------------------------------ the migration


@pytest.mark.parametrize("kind", DATABASES)
async def test_migration_0002_upgrades_a_polls_database_and_matches_the_schema(kind: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.store.db import upgrade
    from bot.store.schema import metadata, polls

    async def check(url: str) -> None:
        await asyncio.to_thread(upgrade, url, "0001")  # a database from before prompts, with a poll in it
        db = await Database.open(url, migrate=False)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(
                    polls.insert().values(
                        id="p1",
                        platform="slack",
                        channel_id="C1",
                        claim="c",
                        claim_key="c",
                        section="",
                        passage="",
                        options=["a", "b"],
                        anonymous=True,
                        hide_results=False,
                        created_by="m",
                        created_at=MONDAY,
                        closes_at=MONDAY,
                        status="open",
                    )
                )
            await db.migrate()
            async with db.engine.connect() as conn:
                assert (await conn.execute(select(polls.c.id))).scalars().all() == ["p1"]
                diffs = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
            assert [d for d in diffs if "prompt_" in repr(d)] == []
            sched, _ = scheduler(db, StepClock(MONDAY.replace(hour=7, minute=59)), [plan("0 9 * * *")])
            await sched.tick()
            sched.clock.advance(minutes=1)  # type: ignore[attr-defined]
            assert len(await sched.tick()) == 1
        finally:
            await db.close()

    if kind == "sqlite":
        await check(database_url("", tmp_path))
    else:
        async with postgres_url() as url:
            await check(database_url(url, tmp_path))
