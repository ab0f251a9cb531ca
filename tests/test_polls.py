"""Polls: rules, storage on SQLite and PostgreSQL, concurrency, deadlines, results."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.clock import ManualClock
from bot.core.events import Channel, User, Where
from bot.core.outbox import Outbox
from bot.errors import InputError
from bot.polls import render
from bot.polls.claims import load_claims
from bot.polls.model import SCALE, PollSpec, Tally, check_claim, check_options, parse_duration
from bot.polls.runtime import PollRuntime
from bot.polls.service import PollClosed, PollService, UnknownPoll, VoteResult
from bot.store.schema import votes
from tests.fakes.recording import RecordingAdapter
from tests.polls_support import open_database

pytestmark = pytest.mark.asyncio
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
WHERE = Where(Channel("console", "book-club"))
MOD = User("mod", "Moderator")
SECRET = b"test-secret"


def spec(claim: str = "The age of scaling is over.", **kw: object) -> PollSpec:
    return PollSpec(claim, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ rules (no database)


async def test_default_options_are_the_five_point_scale() -> None:
    assert spec().options == ("Strongly agree", "Agree", "Unsure", "Disagree", "Strongly disagree")
    assert spec().duration == timedelta(minutes=60)
    assert spec().anonymous is True and spec().hide_results is False


@pytest.mark.parametrize("claim", ["", "   ", "x" * 301])
async def test_bad_claims_are_refused(claim: str) -> None:
    with pytest.raises(InputError):
        check_claim(claim)


@pytest.mark.parametrize("options", [["only one"], ["a", "b", "c", "d", "e", "f"], ["Yes", "yes"], ["a", " "]])
async def test_bad_options_are_refused(options: list[str]) -> None:
    with pytest.raises(InputError):
        check_options(options)


@pytest.mark.parametrize("raw", ["0", "30s", "8d", "10081", "soon", ""])
async def test_durations_out_of_range_or_junk_are_refused(raw: str) -> None:
    with pytest.raises(InputError):
        parse_duration(raw)


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("90m", 90), ("2h", 120), ("7d", 7 * 24 * 60)])
async def test_durations_parse(raw: str, expected: int) -> None:
    assert parse_duration(raw) == timedelta(minutes=expected)


async def test_card_shows_counts_next_to_labels_with_percentages_and_voters() -> None:
    from bot.polls.model import Poll

    poll = Poll(
        "p1",
        "console",
        "c",
        None,
        None,
        "Claim.",
        None,
        "Sec",
        "Passage.",
        SCALE,
        True,
        False,
        "mod",
        T0,
        T0 + timedelta(hours=1),
        None,
        "open",
    )
    text = render.card(poll, Tally((2, 1, 0, 0, 1))).text
    assert "Strongly agree: 2 (50%)" in text and "Agree: 1 (25%)" in text
    assert "4 voters" in text and "“Sec”" in text and "Passage." in text
    hidden = render.card(
        Poll(*[*poll.__dict__.values()][:10], True, True, "mod", T0, T0 + timedelta(hours=1), None, "open"),
        Tally((2, 1, 0, 0, 1)),
    ).text
    assert "Strongly agree: 2" not in hidden and "hidden until the poll closes" in hidden


# ------------------------------------------------------------------ storage, both databases

DATABASES = ["sqlite", "postgresql"]


@pytest.mark.parametrize("kind", DATABASES)
async def test_vote_move_same_and_closed(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database(kind, tmp_path) as db:
        service = PollService(db, SECRET)
        poll = await service.create(
            spec(), platform="console", channel_id="c", thread_id=None, created_by="mod", now=T0
        )
        assert (await service.vote(poll.id, "u1", 1, now=T0))[1] is VoteResult.NEW
        assert (await service.vote(poll.id, "u1", 1, now=T0))[1] is VoteResult.SAME
        assert (await service.vote(poll.id, "u1", 3, now=T0))[1] is VoteResult.CHANGED
        await service.vote(poll.id, "u2", 3, now=T0)
        assert (await service.tally(poll)).counts == (0, 0, 0, 2, 0)
        with pytest.raises(InputError):
            await service.vote(poll.id, "u3", 9, now=T0)
        with pytest.raises(UnknownPoll):
            await service.vote("nope", "u3", 1, now=T0)
        assert await service.close(poll.id, now=T0) is not None
        assert await service.close(poll.id, now=T0) is None  # closes once
        with pytest.raises(PollClosed):
            await service.vote(poll.id, "u3", 1, now=T0)
        assert (await service.tally(poll)).counts == (0, 0, 0, 2, 0)


@pytest.mark.parametrize("kind", DATABASES)
async def test_anonymous_polls_store_no_user_id(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database(kind, tmp_path) as db:
        service = PollService(db, SECRET)
        anon = await service.create(
            spec(), platform="console", channel_id="c", thread_id=None, created_by="mod", now=T0
        )
        named = await service.create(
            spec(anonymous=False), platform="console", channel_id="c", thread_id=None, created_by="mod", now=T0
        )
        await service.vote(anon.id, "U-ALICE", 0, now=T0)
        await service.vote(named.id, "U-ALICE", 0, now=T0)
        stored_anon = [v[0] for v in await service.votes_of(anon)]
        assert stored_anon and "U-ALICE" not in stored_anon[0] and len(stored_anon[0]) == 64
        assert [v[0] for v in await service.votes_of(named)] == ["U-ALICE"]


@pytest.mark.parametrize("kind", DATABASES)
async def test_database_enforces_one_vote_per_person(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database(kind, tmp_path) as db:
        service = PollService(db, SECRET)
        poll = await service.create(
            spec(), platform="console", channel_id="c", thread_id=None, created_by="mod", now=T0
        )
        row = {"poll_id": poll.id, "voter": "v", "option": 0, "voted_at": T0}
        async with db.engine.begin() as conn:
            await conn.execute(votes.insert().values(**row))
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(votes.insert().values(**row))


@pytest.mark.parametrize("kind", DATABASES)
async def test_200_votes_from_100_users_at_once_leave_each_users_last_choice(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database(kind, tmp_path) as db:
        service = PollService(db, SECRET)
        poll = await service.create(
            spec(anonymous=False), platform="console", channel_id="c", thread_id=None, created_by="mod", now=T0
        )
        rng = random.Random(7)
        first = {f"u{i}": rng.randrange(5) for i in range(100)}
        second = {f"u{i}": rng.randrange(5) for i in range(100)}
        lock = {u: asyncio.Lock() for u in first}  # one person clicks twice: the second lands last

        async def person(user: str) -> None:
            async with lock[user]:
                await service.vote(poll.id, user, first[user], now=T0)
                await service.vote(poll.id, user, second[user], now=T0)

        await asyncio.gather(*(person(u) for u in first))
        stored = {v[0]: v[1] for v in await service.votes_of(poll)}
        assert len(stored) == 100
        assert stored == second
        async with db.engine.connect() as conn:
            assert len((await conn.execute(select(votes).where(votes.c.poll_id == poll.id))).all()) == 100


# ------------------------------------------------------------------ runtime: live card, deadlines, results


async def runtime_for(db, clock: ManualClock) -> tuple[PollRuntime, RecordingAdapter]:  # type: ignore[no-untyped-def]
    outbox = Outbox()
    adapter = RecordingAdapter("console")
    outbox.register(adapter)  # type: ignore[arg-type]
    return PollRuntime(PollService(db, SECRET), outbox, clock, load_claims()), adapter


async def test_a_burst_of_votes_makes_at_most_one_edit_per_second(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database("sqlite", tmp_path) as db:
        runtime, adapter = await runtime_for(db, ManualClock(T0))
        runtime.live._interval = 0.3  # same rule, shorter window for the test
        poll, card = await runtime.start(spec(), WHERE, MOD)
        await runtime.posted(poll, await adapter.send(WHERE, card))
        await asyncio.gather(*(runtime.vote(poll.id, i % 5, User(f"u{i}")) for i in range(30)))
        await runtime.live.drain()
        assert 1 <= len(adapter.updates) < 30
        gaps = [b - a for a, b in zip(adapter.update_times, adapter.update_times[1:], strict=False)]
        assert all(gap >= 0.29 for gap in gaps), gaps
        assert "30 voters" in adapter.updates[-1][1].text


async def test_deadline_closes_once_posts_final_card_and_results_with_shift(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database("sqlite", tmp_path) as db:
        clock = ManualClock(T0)
        runtime, adapter = await runtime_for(db, clock)
        first, card = await runtime.start(spec(duration=timedelta(minutes=5)), WHERE, MOD)
        await runtime.posted(first, await adapter.send(WHERE, card))
        for i in range(4):
            await runtime.vote(first.id, 1 if i < 1 else 3, User(f"u{i}"))  # Agree 25%
        clock.advance(minutes=4)
        assert await runtime.close_due() == 0
        clock.advance(minutes=2)
        assert await runtime.close_due() == 1
        assert await runtime.close_due() == 0
        final = adapter.updates[-1][1]
        assert final.buttons == () and "closed" in final.text
        results = adapter.sent[-1][1]
        assert results.image and results.image.startswith(b"\x89PNG")
        with pytest.raises(PollClosed):
            await runtime.vote(first.id, 0, User("late"))

        clock.advance(days=2)
        second, card = await runtime.start(spec(duration=timedelta(minutes=5)), WHERE, MOD)
        await runtime.posted(second, await adapter.send(WHERE, card))
        for i in range(4):
            await runtime.vote(second.id, 1 if i < 2 else 3, User(f"u{i}"))  # Agree 50%
        assert await runtime.close(second.id)
        assert "Agree +25 points since 3 Nov" in adapter.sent[-1][1].text


async def test_restart_closes_polls_whose_deadline_passed_while_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database("sqlite", tmp_path) as db:
        clock = ManualClock(T0)
        runtime, adapter = await runtime_for(db, clock)
        poll, card = await runtime.start(spec(duration=timedelta(minutes=1)), WHERE, MOD)
        await runtime.posted(poll, await adapter.send(WHERE, card))
    async with open_database("sqlite", tmp_path) as db:  # the bot comes back 10 minutes later
        clock = ManualClock(T0 + timedelta(minutes=10))
        runtime, adapter = await runtime_for(db, clock)
        assert await runtime.close_due() == 1
        assert adapter.updates and adapter.sent[-1][1].image


async def test_watch_deadlines_closes_on_time_with_a_moved_clock(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database("sqlite", tmp_path) as db:
        clock = ManualClock(T0)
        runtime, adapter = await runtime_for(db, clock)
        poll, card = await runtime.start(spec(duration=timedelta(minutes=3)), WHERE, MOD)
        await runtime.posted(poll, await adapter.send(WHERE, card))
        watcher = asyncio.create_task(runtime.watch_deadlines())
        try:
            await asyncio.sleep(0.05)
            assert not adapter.updates
            clock.advance(minutes=3)
            for _ in range(1000):  # up to 10 s on a loaded machine; no clock time passes here
                await asyncio.sleep(0.01)
                if adapter.updates:
                    break
            assert adapter.updates and "closed" in adapter.updates[-1][1].text
        finally:
            watcher.cancel()  # and waited for: cancelled mid-query, its connection must be closed before the database
            await asyncio.gather(watcher, return_exceptions=True)


async def test_export_and_list_commands(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from bot.cli import main

    async with open_database("sqlite", tmp_path) as db:
        service = PollService(db, SECRET)
        named = await service.create(
            spec(anonymous=False), platform="console", channel_id="c", thread_id=None, created_by="mod", now=T0
        )
        await service.vote(named.id, "U1", 0, now=T0)
    monkeypatch.setenv("READBOT_DATA_DIR", str(tmp_path))
    assert await asyncio.to_thread(main, ["polls", "list"]) == 0
    assert named.id in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["polls", "export", "--poll", named.id, "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported[0]["votes"][0]["voter"] == "U1"
    assert await asyncio.to_thread(main, ["polls", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["poll_id"] == named.id and rows[0]["option"] == "Strongly agree"
    assert await asyncio.to_thread(main, ["polls", "export", "--poll", "nope", "--format", "json"]) == 2


# ------------------------------------------------------------------ parsing /poll


async def test_settings_without_a_claim_apply_to_the_next_bank_claim() -> None:
    from bot.polls.handlers import is_bare, parse_poll

    spec_ = parse_poll("duration=30m anonymous=off", {}, load_claims())
    assert spec_.claim == "" and spec_.duration == timedelta(minutes=30) and spec_.anonymous is False
    assert parse_poll("", {"options": "yes | no"}, load_claims()).options == ("yes", "no")
    assert is_bare("", {}) and not is_bare("", {"duration": "30m"})


async def test_a_structured_claim_may_contain_a_bar() -> None:
    from bot.polls.handlers import parse_poll

    spec_ = parse_poll("", {"claim": "Scaling | research is a false choice", "options": "yes | no"}, [])
    assert spec_.claim == "Scaling | research is a false choice" and spec_.options == ("yes", "no")


async def test_a_bank_claim_typed_by_id_carries_its_section_and_passage() -> None:
    from bot.polls.handlers import parse_poll

    claims = load_claims()
    spec_ = parse_poll(claims[0].id, {}, claims)
    assert spec_.claim == claims[0].claim and spec_.section == claims[0].section
    assert spec_.passage == claims[0].passage and spec_.claim_id == claims[0].id


@pytest.mark.parametrize("kind", DATABASES)
async def test_cancel_once_no_votes_after_and_the_claim_can_be_polled_again(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Migration 0006 widens polls.status for "cancelled" (PostgreSQL enforces the width)."""
    async with open_database(kind, tmp_path) as db:
        service = PollService(db, SECRET)
        claim = load_claims()[0]
        poll = await service.create(
            PollSpec(claim.claim, claim_id=claim.id),
            platform="console",
            channel_id="c",
            thread_id=None,
            created_by="mod",
            now=T0,
        )
        await service.vote(poll.id, "u1", 1, now=T0)
        assert await service.polled_claim_ids("console", "c") == {claim.id}
        assert await service.cancel(poll.id, now=T0) == []  # no card posted: nothing owed
        assert await service.cancel(poll.id, now=T0) is None  # once
        assert await service.close(poll.id, now=T0) is None  # and never closed after
        stored = await service.get(poll.id)
        assert stored is not None and (stored.status, stored.closed_at) == ("cancelled", T0)
        with pytest.raises(InputError, match="cancelled"):
            await service.vote(poll.id, "u2", 1, now=T0)
        assert await service.latest_open("console", "c") is None
        assert await service.due(T0 + timedelta(days=8)) == []
        assert await service.polled_claim_ids("console", "c") == set()  # a mistake doesn't use up the claim
