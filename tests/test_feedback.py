"""Around the answer, on the console and in the store: 👍/👎 and the "what was wrong?" line, private
answers and sharing them, the rate limit, /insights and the CLI's export and insights.

The store's rules (one verdict per person per answer, the sliding window) run on SQLite and
PostgreSQL alike."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, open_app
from bot.ask.answers import AnswerLog, Limits, RateLimited, UnknownAnswer, VoteResult
from bot.ask.insights import group_similar
from bot.clock import ManualClock
from bot.core.events import Button, ButtonClick, Citation, Reply, User, Visibility
from bot.errors import ConfigError, InputError
from bot.ops.metrics import PrometheusMetrics
from bot.settings import Settings
from tests.polls_support import open_database

MOD = User("mod-1", "Moderator")
MEMBER = User("member-1", "Member")
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
COVERED = "What does Ilya say about vibe coding?"
UNCOVERED = ("What did Ilya say about baking sourdough bread?", "what does ilya say about sourdough bread baking")


@pytest_asyncio.fixture
async def chat(tmp_path, knowledge_service):  # type: ignore[no-untyped-def]
    env = {"READBOT_DATA_DIR": str(tmp_path), "READBOT_MODERATORS": MOD.id, "READBOT_RATE_USER": "3"}
    settings = Settings.from_env(env, dotenv=None)
    out = io.StringIO()
    metrics = PrometheusMetrics()
    clock = ManualClock(T0)

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=MEMBER, commands=kit.commands)

    async with open_app(
        settings, adapters=[console], knowledge=knowledge_service, clock=clock, metrics=metrics, run_tasks=False
    ) as app:
        (adapter,) = app.adapters
        yield app, adapter, out, metrics, clock


async def say(adapter: ConsoleAdapter, user: User, line: str) -> None:
    adapter.user = user
    await adapter.handle_line(line)


def buttons(reply: Reply) -> dict[str, int]:
    """Button label → the number `click N` takes."""
    return {b.label: i for i, b in enumerate(reply.buttons, 1)}


def last(adapter: ConsoleAdapter) -> Reply:
    return adapter.posted[-1][1]


@pytest.mark.asyncio
async def test_feedback_click_change_and_the_what_was_wrong_line(chat) -> None:  # type: ignore[no-untyped-def]
    app, adapter, out, metrics, _ = chat
    await say(adapter, MEMBER, COVERED)
    answer = last(adapter)
    labels = buttons(answer)
    assert any("👍" in label for label in labels) and any("👎" in label for label in labels)
    up = next(n for label, n in labels.items() if "👍" in label)
    down = next(n for label, n in labels.items() if "👎" in label)

    await say(adapter, MEMBER, f"click {up}")
    assert last(adapter).visibility is Visibility.PRIVATE and "Thanks for the 👍" in last(adapter).text
    await say(adapter, MEMBER, f"click {up}")  # the same again: nothing changes
    assert "already" in last(adapter).text
    assert metrics.feedback_given.value("up") == 1

    await say(adapter, MEMBER, f"click {down}")  # changed: the console asks what was wrong on the next line
    assert "What was wrong" in out.getvalue().splitlines()[-1]
    await say(adapter, MEMBER, "It cited the wrong section")
    assert "moderators will see" in last(adapter).text
    await say(adapter, MEMBER, f"click {down}")  # a second 👎 form: one private line, nothing changed
    assert last(adapter).visibility is Visibility.PRIVATE and "nothing changed" in last(adapter).text
    assert metrics.feedback_given.value("down") == 1
    assert "readbot_answer_feedback_total" in metrics.render()

    answers = AnswerLog(app.db, b"")  # the export reads no person, so any key does
    (row,) = await answers.feedback_rows()
    assert row["verdict"] == "down" and row["note"] == "It cited the wrong section"
    assert row["question"] == COVERED and row["grounded"] is True and row["sections"]

    await say(adapter, User("member-2", "Other"), f"click {up}")  # another person: a verdict of their own
    assert [r["verdict"] for r in await answers.feedback_rows()] == ["down", "up"]
    assert "Traceback" not in out.getvalue()


@pytest.mark.asyncio
async def test_feedback_on_an_answer_that_no_longer_exists(chat) -> None:  # type: ignore[no-untyped-def]
    app, adapter, out, _, _ = chat
    await say(adapter, MEMBER, COVERED)
    answer_id = last(adapter).buttons[0].value
    await AnswerLog(app.db, b"").delete(answer_id)
    before = len(adapter.posted)
    await say(adapter, MEMBER, "click 1")
    assert len(adapter.posted) == before + 1
    assert last(adapter).visibility is Visibility.PRIVATE and "no longer stored" in last(adapter).text
    for action in ("feedback:up", "feedback:share"):  # an unknown id: the same one line
        click = ButtonClick(f"x-{action}", adapter.posted[-1][0], MEMBER, action, "0123456789abcdef")
        await app.dispatcher.dispatch(click, _Capture(adapter))
        assert "no longer stored" in last(adapter).text
    assert "Traceback" not in out.getvalue()


class _Capture:
    def __init__(self, adapter: ConsoleAdapter) -> None:
        self.adapter = adapter

    async def reply(self, reply: Reply):  # type: ignore[no-untyped-def]
        return await self.adapter.send(self.adapter.posted[-1][0], reply)

    async def acknowledge(self, *, private: bool = False) -> None:
        return None

    async def open_form(self, form: object) -> None:
        raise AssertionError("no form expected")


@pytest.mark.asyncio
async def test_private_answer_and_sharing_it(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, out, _, _ = chat
    await say(adapter, MEMBER, f"/ask private: {COVERED}")
    answer = last(adapter)
    assert answer.visibility is Visibility.PRIVATE and answer.citations
    assert "readbot> (only you can see this) " in out.getvalue()
    share = buttons(answer)["Share with the channel"]

    await say(adapter, User("member-2", "Other"), f"click {share}")  # not the asker
    assert "Only the person who asked" in last(adapter).text

    await say(adapter, MEMBER, f"click {share}")
    shared = adapter.posted[-2][1]
    assert shared.visibility is Visibility.PUBLIC and "shared by Member" in shared.text
    assert COVERED in shared.text and shared.citations == answer.citations
    assert any("👍" in b.label for b in shared.buttons) and "Share with the channel" not in buttons(shared)
    assert last(adapter).text == "Shared with the channel."

    posted = len(adapter.posted)
    adapter.cards.append((adapter.cards[0][0], answer))  # the private answer's button again
    await say(adapter, MEMBER, f"click {share}")
    assert len(adapter.posted) == posted + 1 and "already shared" in last(adapter).text


@pytest.mark.asyncio
async def test_a_burst_is_rate_limited_and_a_moderator_is_not(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, _out, metrics, clock = chat
    for n in range(3):  # READBOT_RATE_USER=3
        await say(adapter, MEMBER, f"/ask question {n} about vibe coding?")
        assert last(adapter).visibility is Visibility.PUBLIC
        clock.advance(seconds=10)
    await say(adapter, MEMBER, "What does Ilya say about research taste?")
    note = last(adapter)
    assert note.visibility is Visibility.PRIVATE and "try again in 30 seconds" in note.text
    assert metrics.limited.value("console", "user") == 1
    for _ in range(4):
        await say(adapter, MOD, COVERED)
        assert last(adapter).visibility is Visibility.PUBLIC
    clock.advance(seconds=31)  # the first question left the window
    await say(adapter, MEMBER, "What does Ilya say about research taste?")
    assert last(adapter).visibility is Visibility.PUBLIC
    assert "readbot_questions_rate_limited_total" in metrics.render()


@pytest.mark.asyncio
async def test_insights_after_covered_and_uncovered_questions(chat) -> None:  # type: ignore[no-untyped-def]
    _app, adapter, _out, _, clock = chat
    await say(adapter, MOD, COVERED)
    await say(adapter, MEMBER, "click 2")  # 👎 on it
    await say(adapter, MEMBER, "wrong section")
    for question in UNCOVERED:
        await say(adapter, MOD, question)
    await say(adapter, MOD, "What is the best pizza topping in Naples?")
    await say(adapter, MOD, "thanks!")  # small talk is not a question

    await say(adapter, MEMBER, "/insights")  # a member: one private line
    assert last(adapter).visibility is Visibility.PRIVATE and last(adapter).text == (
        "Only moderators can see what the group asked."
    )
    await say(adapter, MOD, "/insights 7")
    report = last(adapter)
    assert report.visibility is Visibility.PRIVATE
    assert "4 question(s), 1 answered" in report.text
    assert "(×2)" in report.text and "pizza" in report.text
    assert "wrong section" in report.text and "👎 1" in report.text
    await say(adapter, MOD, "/insights forever")
    assert "from 1 to 366" in last(adapter).text
    clock.advance(days=8)
    await say(adapter, MOD, "/insights")
    assert "No questions were asked in the last 7 days." in last(adapter).text


@pytest.mark.asyncio
async def test_cli_feedback_export_and_insights(tmp_path, knowledge_service, run_readbot) -> None:  # type: ignore[no-untyped-def]
    env = {"READBOT_DATA_DIR": str(tmp_path), "READBOT_MODERATORS": MOD.id}
    settings = Settings.from_env(env, dotenv=None)
    out = io.StringIO()

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=MOD, commands=kit.commands)

    async with open_app(settings, adapters=[console], knowledge=knowledge_service, run_tasks=False) as app:
        (adapter,) = app.adapters
        await adapter.handle_line(COVERED)
        await adapter.handle_line("click 1")
        for question in UNCOVERED:
            await adapter.handle_line(question)
        await adapter.handle_line("click 2")
        await adapter.handle_line("It should say the reading doesn't cover it, and it did, but I wanted more")

    exported = run_readbot(["feedback", "export", "--format", "json"], data_dir=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    rows = json.loads(exported.stdout)
    assert [r["verdict"] for r in rows] == ["up", "down"]
    assert set(rows[0]) == {"question", "verdict", "sections", "grounded", "note", "at"}
    assert rows[0]["grounded"] is True and rows[1]["grounded"] is False and rows[1]["note"].startswith("It should")
    csv_out = run_readbot(["feedback", "export", "--format", "csv"], data_dir=tmp_path, env=env)
    assert csv_out.stdout.splitlines()[0] == "question,verdict,sections,grounded,note,at"

    found = run_readbot(["insights", "--days", "3", "--json"], data_dir=tmp_path, env=env)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data["questions"] == 3 and data["answered"] == 1
    assert data["not_covered"][0]["count"] == 2 and data["feedback"] == {"up": 1, "down": 1}
    assert data["top_sections"] and data["top_sections"][0]["count"] == 1
    text = run_readbot(["insights"], data_dir=tmp_path, env=env)
    assert text.returncode == 0 and "3 question(s)" in text.stdout
    bad = run_readbot(["insights", "--days", "0"], data_dir=tmp_path, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_store_keeps_one_verdict_per_person_and_a_sliding_window(kind, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with open_database(kind, tmp_path) as db:
        log = AnswerLog(db, b"secret")
        limits = Limits(per_user=2, per_channel=3)
        first = await log.admit("slack", "C1", "U1", "q1", now=T0, limits=limits)
        await log.admit("slack", "C1", "U1", "q2", now=T0 + timedelta(seconds=20), limits=limits)
        with pytest.raises(RateLimited) as limited:
            await log.admit("slack", "C1", "U1", "q3", now=T0 + timedelta(seconds=30), limits=limits)
        assert limited.value.scope == "user" and limited.value.retry_after == 30
        await log.admit("slack", "C1", "U2", "q4", now=T0 + timedelta(seconds=40), limits=limits)
        with pytest.raises(RateLimited) as limited:  # the channel is full now
            await log.admit("slack", "C1", "U3", "q5", now=T0 + timedelta(seconds=41), limits=limits)
        assert limited.value.scope == "channel" and "This channel" in str(limited.value)
        await log.admit("slack", "C2", "U3", "q6", now=T0 + timedelta(seconds=41), limits=limits)  # another channel
        await log.admit("slack", "C1", "U1", "q7", now=T0 + timedelta(seconds=61), limits=limits)  # q1 left

        cite = Citation("Section A", "doc.md", "reading")
        await log.finish(first, "an answer", [cite], grounded=True, status="answered")
        assert (await log.vote(first, "slack", "U2", "up", now=T0))[0] is VoteResult.NEW
        assert (await log.vote(first, "slack", "U2", "up", now=T0))[0] is VoteResult.SAME
        assert (await log.vote(first, "slack", "U2", "down", now=T0))[0] is VoteResult.CHANGED
        await log.add_note(first, "slack", "U2", "too vague", now=T0)
        with pytest.raises(InputError, match="already said"):
            await log.add_note(first, "slack", "U2", "again", now=T0)
        with pytest.raises(InputError, match="👎 first"):
            await log.add_note(first, "slack", "U3", "no verdict", now=T0)
        assert (await log.vote(first, "slack", "U2", "down", now=T0)) == (VoteResult.SAME, "too vague")
        with pytest.raises(UnknownAnswer):
            await log.vote("nope", "slack", "U2", "up", now=T0)
        rows = await log.feedback_rows()
        assert rows == [
            {
                "question": "q1",
                "verdict": "down",
                "sections": ["Section A"],
                "grounded": True,
                "note": "too vague",
                "at": T0.isoformat(),
            }
        ]
        assert await log.verdicts_since(T0 - timedelta(days=1)) == {"up": 0, "down": 1}
        stored = await log.get(first)
        assert stored is not None and stored.asker != "U1" and "U1" not in stored.asker  # a keyed hash
        assert await log.mark_shared(first, T0) and not await log.mark_shared(first, T0)


def test_similar_uncovered_questions_are_grouped() -> None:
    groups = group_similar(
        [
            "What does the reading say about sourdough bread?",
            "sourdough bread?",
            "Does Ilya talk about sourdough bread",
            "Who won the football world cup?",
            "What is the capital of France?",
            "capital of france",
        ]
    )
    assert groups[0] == ("What does the reading say about sourdough bread?", 3)
    assert ("What is the capital of France?", 2) in groups and ("Who won the football world cup?", 1) in groups
    assert group_similar([]) == [] and group_similar(["??", "!!"]) == [("??", 1), ("!!", 1)]


def test_buttons_fit_every_platform() -> None:
    """A feedback button's value is an answer id: short enough for Discord's 100-character custom ids."""
    from bot.ask.record import feedback_buttons, share_button

    for button in (*feedback_buttons("0123456789abcdef"), share_button("0123456789abcdef")):
        assert isinstance(button, Button) and len(f"{button.action}|{button.value}") <= 100


@pytest.mark.asyncio
async def test_the_weekly_report_is_posted_once_on_its_schedule(tmp_path, knowledge_service) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.ask.weekly import WeeklyPoster, load_weekly
    from bot.store.events import EventLog

    config = tmp_path / "readbot.toml"
    config.write_text(
        '[insights]\nplatform = "console"\nchannel = "mods"\ncron = "0 9 * * 1"\ntimezone = "Europe/Berlin"\n'
    )
    env = {"READBOT_DATA_DIR": str(tmp_path), "READBOT_CONFIG": str(config), "READBOT_MODERATORS": MOD.id}
    settings = Settings.from_env(env, dotenv=None)
    out = io.StringIO()
    clock = ManualClock(T0)  # a Tuesday, 09:00 UTC

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=MEMBER, commands=kit.commands)

    async with open_app(settings, adapters=[console], knowledge=knowledge_service, clock=clock, run_tasks=False) as app:
        (adapter,) = app.adapters
        (task,) = [t for f in app.features for t in f.tasks if t.name == "insights-weekly"]
        await say(adapter, MEMBER, UNCOVERED[0])
        await say(adapter, MEMBER, UNCOVERED[1])
        running = asyncio.create_task(task.run())
        await asyncio.sleep(0.05)
        clock.advance(days=5, hours=22)  # Monday 07:00 UTC = 08:00 Berlin: not yet
        await asyncio.sleep(0.05)
        assert not any(where.channel.id == "mods" for where, _ in adapter.posted)
        clock.advance(hours=1)  # Monday 09:00 Berlin = 08:00 UTC
        for _ in range(200):
            if any(where.channel.id == "mods" for where, _ in adapter.posted):
                break
            await asyncio.sleep(0.02)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)  # its connection closed before the app's database
        (report,) = [reply for where, reply in adapter.posted if where.channel.id == "mods"]
        assert "2 question(s), 0 answered" in report.text and "(×2)" in report.text

        report_config = load_weekly(config)
        assert report_config is not None
        weekly = WeeklyPoster(report_config, AnswerLog(app.db, b""), app.outbox, clock, EventLog(app.db, clock))
        due = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
        assert not await weekly.post(due)  # that time was posted already (another replica would skip it too)


def test_a_bad_insights_table_stops_start_up_with_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bot.ask.weekly import load_weekly
    from bot.prompts.config import load_config

    config = tmp_path / "readbot.toml"
    good = '[insights]\nplatform = "slack"\nchannel = "C0MODS"\ncron = "0 9 * * 1"\n'
    config.write_text(good)
    assert load_config(config).schedules == ()  # the prompts' loader accepts the table
    report = load_weekly(config)
    assert report is not None and (report.platform, report.channel, report.days) == ("slack", "C0MODS", 7)
    for bad, says in (
        (good.replace("0 9 * * 1", "61 9 * * 1"), "bad cron"),
        (good + "colour = 'red'\n", "unknown key 'colour'"),
        (good + "days = 0\n", "days 0"),
        (good.replace('"slack"', '"irc"'), "unknown platform"),
        (good + 'timezone = "Mars/Olympus"\n', "unknown timezone"),
    ):
        config.write_text(bad)
        with pytest.raises(ConfigError) as error:
            load_weekly(config)
        assert says in str(error.value) and "[insights]" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_migration_0008_matches_the_schema(kind, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.store.schema import metadata

    async with open_database(kind, tmp_path) as db, db.engine.connect() as conn:  # migrated to the newest schema
        diffs = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    assert [d for d in diffs if "asked_questions" in repr(d) or "answer_feedback" in repr(d)] == []


def test_private_takes_its_colon_and_a_question_may_begin_with_the_word() -> None:
    from bot.ask.record import asks_privately
    from bot.core.events import Channel, Command, Where

    where = Where(Channel("slack", "C1"))

    def ask(text: str, **options: str) -> tuple[bool, str | None]:
        return asks_privately(Command("e", where, MEMBER, "ask", text, options))

    assert ask("private: what is research taste?") == (True, "what is research taste?")
    assert ask("  PRIVATE :what is it") == (True, "what is it")
    assert ask("private property: does the reading mention it?") == (False, None)
    assert ask("", question="what is it", private="yes") == (True, None)
    assert ask("", question="what is it", private="no") == (False, None)
