"""The syllabus in readbot.toml, and /reading progress in chat.

A simulated month on a ManualClock (Europe/Berlin, across the change to summer time on the last
Sunday of March, and a restart), with the real app (open_app), the real knowledge service over two
FairytaleQA stories, real SQLite, and the console adapter; bad input in chat and in readbot.toml."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, open_app
from bot.clock import ManualClock
from bot.core.events import User
from bot.errors import ConfigError
from bot.knowledge.service import KnowledgeService
from bot.readings.syllabus import check_readings, parse_syllabus, steps
from bot.settings import Settings
from tests.readings_support import FAIRYTALES as SHARED
from tests.test_readings import Chat as ReadingsChat

GIANT, ARTS = "the-selfish-giant", "black-arts"  # 11 and 17 sections
MOD = User("mod-1", "Moderator")
MEMBER = User("member-1", "Member")
CHANNEL = "reading-group"  # the console's channel
SYLLABUS = f"""
[[syllabus]]
platform = "console"
channel = "{CHANNEL}"
timezone = "Europe/Berlin"
readings = [ {{ reading = "{GIANT}", start = "2027-03-08", sections_per_week = 3 }},
             {{ reading = "{ARTS}", start = "2027-04-05" }} ]
"""


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Any:
    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path_factory.mktemp("syllabus-index"))}, dotenv=None)
    service = KnowledgeService.open(settings)
    service.ensure_ingested()
    for name in (GIANT, ARTS):
        assert service.ingest([SHARED / f"{name}.md"], reading=name).added
    yield service
    service.close()


def settings_for(tmp_path: Path, toml: str) -> Settings:
    config = tmp_path / "readbot.toml"
    config.write_text(toml, encoding="utf-8")
    return Settings.from_env(
        {"READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_MODERATORS": MOD.id, "READBOT_CONFIG": str(config)},
        dotenv=None,
    )


def console(kit: AdapterKit) -> ConsoleAdapter:
    return ConsoleAdapter(kit.dispatcher, io.StringIO(), user=MEMBER, commands=kit.commands)


class Chat(ReadingsChat):
    async def where(self) -> tuple[str | None, int | None]:
        readings = self.app.readings
        return await readings.current("console", CHANNEL), await readings.progress("console", CHANNEL)


@pytest.mark.asyncio
async def test_a_month_of_the_syllabus_across_summer_time_and_a_restart(tmp_path: Path, knowledge: Any) -> None:
    settings = settings_for(tmp_path, SYLLABUS)
    clock = ManualClock(datetime(2027, 3, 6, 12, 0, tzinfo=UTC))
    expected = {  # local midnight in Berlin: 23:00 UTC in winter, 22:00 UTC once summer time began (28 March)
        datetime(2027, 3, 7, 23, 0, tzinfo=UTC): (GIANT, 2),
        datetime(2027, 3, 14, 23, 0, tzinfo=UTC): (GIANT, 5),
        datetime(2027, 3, 21, 23, 0, tzinfo=UTC): (GIANT, 8),
        datetime(2027, 3, 28, 22, 0, tzinfo=UTC): (GIANT, 10),
        datetime(2027, 4, 4, 22, 0, tzinfo=UTC): (ARTS, None),
    }
    changes: dict[datetime, tuple[str | None, int | None]] = {}

    async def walk(chat: Chat, until: datetime) -> None:
        last = await chat.where()
        while clock.now() < until:
            clock.advance(minutes=30)
            assert chat.app.syllabus is not None
            await chat.app.syllabus.check()
            now = await chat.where()
            if now != last:
                changes[clock.now()] = now
            last = now

    async with open_app(settings, adapters=[console], knowledge=knowledge, clock=clock, run_tasks=False) as app:
        chat = Chat(app)
        before = await chat.say(MEMBER, "/reading")
        assert "No reading is set for this channel" in before
        assert (
            "Next on the syllabus: “The Selfish Giant” (the-selfish-giant) up to “Part 3” from Mon 08 Mar 2027."
            in before
        )
        await walk(chat, datetime(2027, 3, 17, 12, 0, tzinfo=UTC))
        shown = await chat.say(MEMBER, "/reading")
        assert "This channel is reading “The Selfish Giant”" in shown
        assert "read up to “Part 6” (section 6 of 11, set by the syllabus)" in shown
        assert (
            "Next on the syllabus: “The Selfish Giant” (the-selfish-giant) up to “Part 9” from Mon 22 Mar 2027."
            in shown
        )
        # a moderator holds the group back: it stands until the syllabus's next step, across a restart
        said = await chat.say(MOD, "/reading progress Part 4")
        assert "up to “Part 4”" in said
        changes[clock.now()] = await chat.where()
        await walk(chat, datetime(2027, 3, 19, 9, 0, tzinfo=UTC))
    async with open_app(settings, adapters=[console], knowledge=knowledge, clock=clock, run_tasks=False) as app:
        chat = Chat(app)
        assert await chat.where() == (GIANT, 3)
        assert app.syllabus is not None and await app.syllabus.check() == []  # nothing re-applied on start
        assert "read up to “Part 4” (section 4 of 11, set by a moderator)" in await chat.say(MEMBER, "/reading")
        await walk(chat, datetime(2027, 4, 8, 12, 0, tzinfo=UTC))
        assert "The group can ask about all of it" in await chat.say(MEMBER, "/reading")
        assert "no further steps" in await chat.say(MEMBER, "/reading")
    moderated = datetime(2027, 3, 17, 12, 0, tzinfo=UTC)
    assert changes == {**dict(list(expected.items())[:2]), moderated: (GIANT, 3), **dict(list(expected.items())[2:])}


@pytest.mark.asyncio
async def test_progress_in_chat_bad_input_changes_nothing(tmp_path: Path, knowledge: Any) -> None:
    settings = settings_for(tmp_path, "")
    async with open_app(settings, adapters=[console], knowledge=knowledge, run_tasks=False) as app:
        chat = Chat(app)
        assert "no reading yet" in await chat.say(MOD, "/reading progress Part 2")
        assert "This channel now reads" in await chat.say(MOD, f"/reading use {ARTS}")
        refused = await chat.say(MEMBER, "/reading progress Part 2")
        assert refused == "Only moderators can set how far the group has read."
        assert await chat.where() == (ARTS, None)
        for typed, message in (("Part 99", "names no section of black-arts"), ("Part", "could be Part 1")):
            said = await chat.say(MOD, f"/reading progress {typed}")
            assert message in said and "\n" not in said and "Traceback" not in said
            assert await chat.where() == (ARTS, None)
        assert "up to “Part 2”" in await chat.say(MOD, "/reading progress part 2")
        assert await chat.where() == (ARTS, 1)
        # a question whose answer lies further on: a normal reply saying so, nothing from later on
        said = await chat.say(MEMBER, "Why did the husband eat the birthday noodles?")
        _, reply = chat.adapter.posted[-1]
        assert "further on" in said and "noodles" not in said.lower()
        assert not reply.citations
        said = await chat.say(MEMBER, "Who were masters of many black arts?")
        _, reply = chat.adapter.posted[-1]
        assert reply.citations and {c.section for c in reply.citations} <= {"Part 1", "Part 2"}
        assert "all of black-arts" in await chat.say(MOD, "/reading progress clear")
        assert await chat.where() == (ARTS, None)


@pytest.mark.parametrize(
    ("readings", "message"),
    [
        (
            f'{{ reading = "{GIANT}", start = "2027-03-08" }}, {{ reading = "{ARTS}", start = "2027-03-08" }}',
            f"syllabus #1 (console {CHANNEL}) reading #2 ({ARTS}): starts 2027-03-08, the same day as reading #1",
        ),
        (
            f'{{ reading = "{GIANT}", start = "2027-03-08" }}, {{ reading = "{ARTS}", start = "2027-03-01" }}',
            "reading #2 (black-arts): starts 2027-03-01, before reading #1",
        ),
        (f'{{ reading = "{GIANT}", start = "March 8" }}', "start 'March 8' is not a date written YYYY-MM-DD"),
        (f'{{ reading = "{GIANT}", start = "2027-03-08", sections_per_week = 0 }}', "sections_per_week 0 must be"),
        (f'{{ reading = "{GIANT}", start = "2027-03-08", sections_per_week = 1.5 }}', "sections_per_week 1.5"),
        (f'{{ reading = "{GIANT}", start = "2027-03-08", sections_per_week = "3" }}', "sections_per_week '3'"),
        (f'{{ reading = "{GIANT}", start = "2027-03-08", pace = 3 }}', "unknown key 'pace'"),
        ('{ start = "2027-03-08" }', "reading #1: missing 'reading'"),
        ("", "readings must be a list"),
    ],
)
def test_a_bad_syllabus_entry_is_one_line_naming_it(readings: str, message: str) -> None:
    text = (
        f'[[syllabus]]\nplatform = "console"\nchannel = "{CHANNEL}"\ntimezone = "Europe/Berlin"\n'
        f"readings = [{readings}]\n"
    )
    with pytest.raises(ConfigError) as raised:
        parse_syllabus(text, Path("readbot.toml"))
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith("readbot.toml syllabus #1")


def test_a_bad_timezone_or_a_second_syllabus_for_a_channel_stops_start_up() -> None:
    def one(zone: str) -> str:
        return (
            f'[[syllabus]]\nplatform = "console"\nchannel = "c1"\ntimezone = "{zone}"\n'
            'readings = [{ reading = "x", start = 2027-03-08 }]\n'
        )

    with pytest.raises(ConfigError, match=r"syllabus #1 \(console c1\): unknown timezone 'Mars/Olympus'"):
        parse_syllabus(one("Mars/Olympus"), Path("readbot.toml"))
    twice = one("UTC") + one("UTC")
    with pytest.raises(
        ConfigError, match=r"syllabus #2 \(console c1\): a second syllabus for the channel of syllabus #1"
    ):
        parse_syllabus(twice, Path("readbot.toml"))
    (parsed,) = parse_syllabus(one("UTC"), Path("readbot.toml"))  # a TOML date works as well as a string
    assert parsed.entries[0].start == date(2027, 3, 8)


def test_unknown_readings_and_a_pace_running_into_the_next_start_are_caught() -> None:
    syllabi = parse_syllabus(SYLLABUS, Path("readbot.toml"))
    with pytest.raises(ConfigError, match=rf"reading #2 \({ARTS}\): unknown reading '{ARTS}' \(readings: {GIANT}\)"):
        check_readings(syllabi, {GIANT: 11}, Path("readbot.toml"))
    with pytest.raises(ConfigError, match=rf"reading #1 \({GIANT}\): overlaps reading #2 \({ARTS}\): its 30 sections"):
        check_readings(syllabi, {GIANT: 30, ARTS: 17}, Path("readbot.toml"))
    check_readings(syllabi, {GIANT: 11, ARTS: 17}, Path("readbot.toml"))
    (syllabus,) = syllabi
    assert [(s.day.isoformat(), s.upto) for s in steps(syllabus, {GIANT: 11, ARTS: 17})] == [
        ("2027-03-08", 2),
        ("2027-03-15", 5),
        ("2027-03-22", 8),
        ("2027-03-29", 10),
        ("2027-04-05", None),
    ]


@pytest.mark.asyncio
async def test_an_unknown_reading_in_the_syllabus_stops_start_up_and_changes_nothing(
    tmp_path: Path, knowledge: Any
) -> None:
    settings = settings_for(tmp_path, SYLLABUS.replace(ARTS, "no-such-reading"))
    with pytest.raises(ConfigError, match="unknown reading 'no-such-reading'"):
        async with open_app(settings, adapters=[console], knowledge=knowledge, run_tasks=False):
            pass
    settings.config_path.write_text("", encoding="utf-8")
    async with open_app(settings, adapters=[console], knowledge=knowledge, run_tasks=False) as app:
        assert await Chat(app).where() == (None, None)


def test_preview_shows_each_day_s_reading_and_progress(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    for name in (GIANT, ARTS):
        assert run_readbot(["ingest", str(SHARED / f"{name}.md"), "--reading", name], data_dir=data).returncode == 0
    today = datetime.now(UTC).date()
    start, later = today - timedelta(days=2), today + timedelta(days=60)
    config = tmp_path / "readbot.toml"
    config.write_text(
        '[[schedule]]\nplatform = "slack"\nchannel = "C1"\ncron = "0 9 * * *"\ntimezone = "Europe/Berlin"\n\n'
        f'[[syllabus]]\nplatform = "slack"\nchannel = "C1"\ntimezone = "Europe/Berlin"\n'
        f'readings = [ {{ reading = "{GIANT}", start = "{start}", sections_per_week = 2 }},\n'
        f'             {{ reading = "{ARTS}", start = "{later}" }} ]\n',
        encoding="utf-8",
    )
    env = {"READBOT_CONFIG": str(config)}
    shown = run_readbot(["prompts", "preview", "--days", "10"], data_dir=data, env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    slots = [ln for ln in lines if "· reading " in ln]
    assert len(slots) >= 9
    assert all("“The Selfish Giant” (the-selfish-giant) up to “Part " in ln for ln in slots)
    assert any("up to “Part 2”" in ln for ln in slots) and any("up to “Part 4”" in ln for ln in slots)
    assert f"  {start + timedelta(days=7)} “The Selfish Giant” (the-selfish-giant) up to “Part 4”" in lines
    bad = config.read_text(encoding="utf-8").replace(GIANT, "no-such-reading")
    config.write_text(bad, encoding="utf-8")
    refused = run_readbot(["prompts", "preview"], data_dir=data, env=env)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "syllabus #1 (slack C1) reading #1 (no-such-reading): unknown reading" in refused.stderr


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_progress_is_kept_per_channel_and_reading(kind: str, tmp_path: Path) -> None:
    from bot.readings.store import ProgressStore, ReadingStore
    from tests.polls_support import open_database

    now = datetime(2027, 3, 8, tzinfo=UTC)
    async with open_database(kind, tmp_path) as db:
        readings, progress = ReadingStore(db), ProgressStore(db)
        for rid in (GIANT, ARTS):
            await readings.save(
                rid, title=rid, source="x", format="md", sections=["Part 1"], status="ready", by="t", now=now
            )
        await progress.set("slack", "C1", GIANT, order=2, section="Part 3", by="mod", now=now)
        await progress.set("slack", "C1", GIANT, order=4, section="Part 5", by="syllabus", now=now)  # replaced
        await progress.set("slack", "C1", ARTS, order=0, section="Part 1", by="mod", now=now)
        got = await progress.get("slack", "C1", GIANT)
        assert got is not None and (got.section_order, got.section, got.set_by) == (4, "Part 5", "syllabus")
        assert await progress.get("slack", "C2", GIANT) is None
        assert await progress.clear("slack", "C1", ARTS) and await progress.get("slack", "C1", ARTS) is None
        await readings.remove(GIANT)  # a removed reading takes its progress with it
        assert await progress.get("slack", "C1", GIANT) is None
