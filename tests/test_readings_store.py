"""ReadingStore (bot/readings/store.py) on SQLite and on PostgreSQL: readings saved and replaced, listed
in order, each channel's current reading, removal taking the channels' use with it, and the version
replicas poll; then readbot restarted on the same PostgreSQL database keeps a channel's reading.

Real databases: SQLite in a tmp dir, the local PostgreSQL (tests/polls_support.py; never skipped in CI).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, open_app
from bot.core.events import User
from bot.readings.store import Reading, ReadingStore
from bot.settings import Settings
from tests.polls_support import open_database, postgres_url

pytestmark = pytest.mark.asyncio
KINDS = pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def save(store: ReadingStore, reading_id: str, minutes: int, **changes: object) -> Reading:
    values: dict[str, object] = {
        "title": reading_id.title(),
        "source": f"{reading_id}.md",
        "format": "md",
        "sections": ["One", "Two"],
        "status": "ready",
        "by": "mod-1",
        "now": at(minutes),
    }
    values.update(changes)
    return await store.save(reading_id, **values)  # type: ignore[arg-type]


@KINDS
async def test_save_get_all_and_replace(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        store = ReadingStore(db)
        assert await store.all() == [] and await store.get("kari") is None
        saved = await save(store, "kari", 0, title="Kari Woodencoat", sections=["Part 1", "Part 2", "Part 10"])
        assert saved == Reading(
            "kari", "Kari Woodencoat", "kari.md", "md", ("Part 1", "Part 2", "Part 10"), "ready", "mod-1", T0, T0
        )
        assert saved.added_at.tzinfo is not None and saved.added_at == T0  # aware UTC on both databases
        await save(store, "ants", 5)
        await save(store, "aardvark", 5)  # the same moment: ordered by id
        assert [r.id for r in await store.all()] == ["kari", "aardvark", "ants"]  # in the order they were added
        assert await store.get("kari") == saved

        replaced = await save(
            store, "kari", 10, title="Kari", source="kari.epub", format="epub", sections=["Three"], by="mod-2"
        )
        assert (replaced.title, replaced.source, replaced.format, replaced.sections) == (
            "Kari",
            "kari.epub",
            "epub",
            ("Three",),
        )
        assert replaced.updated_at == at(10)
        assert (replaced.added_by, replaced.added_at) == ("mod-1", T0)  # a replaced reading keeps its first add
        assert await store.get("kari") == replaced
        ids = [r.id for r in await store.all()]
        assert sorted(ids) == ["aardvark", "ants", "kari"]  # replaced, not doubled

        await store.set_status("ants", "indexing", now=at(11))
        ants = await store.get("ants")
        assert ants is not None and ants.status == "indexing" and ants.updated_at == at(11)
        assert ants.added_at == at(5)  # only the status and the time of the change move


@KINDS
async def test_each_channel_has_its_own_current_reading(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        store = ReadingStore(db)
        for reading_id in ("kari", "ants"):
            await save(store, reading_id, 0)
        assert await store.current("slack", "C1") is None
        await store.use("slack", "C1", "kari", by="mod-1", now=at(1))
        await store.use("slack", "C2", "ants", by="mod-1", now=at(1))
        await store.use("discord", "C1", "ants", by="mod-2", now=at(1))  # the same id on another platform
        assert [await store.current(p, c) for p, c in (("slack", "C1"), ("slack", "C2"), ("discord", "C1"))] == [
            "kari",
            "ants",
            "ants",
        ]
        assert await store.current("slack", "C3") is None and await store.current("console", "C1") is None

        await store.use("slack", "C1", "ants", by="mod-2", now=at(2))  # a channel reads one thing at a time
        assert await store.current("slack", "C1") == "ants"
        assert sorted(await store.channels_using("ants")) == [("discord", "C1"), ("slack", "C1"), ("slack", "C2")]
        assert await store.channels_using("kari") == []

        await save(store, "ants", 3, title="The King of the Ants")  # replacing a reading keeps its channels
        assert sorted(await store.channels_using("ants")) == [("discord", "C1"), ("slack", "C1"), ("slack", "C2")]

        with pytest.raises(IntegrityError):  # a channel can't point at a reading that isn't there
            await store.use("slack", "C9", "no-such-reading", by="mod-1", now=at(4))
        assert await store.current("slack", "C9") is None


@KINDS
async def test_removing_a_reading_takes_its_channels_with_it(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        store = ReadingStore(db)
        for reading_id in ("kari", "ants"):
            await save(store, reading_id, 0)
        await store.use("slack", "C1", "kari", by="mod-1", now=at(1))
        await store.use("discord", "D1", "kari", by="mod-1", now=at(1))
        await store.use("slack", "C2", "ants", by="mod-1", now=at(1))

        assert await store.remove("kari") is True
        assert await store.get("kari") is None and [r.id for r in await store.all()] == ["ants"]
        assert await store.current("slack", "C1") is None and await store.current("discord", "D1") is None
        assert await store.channels_using("kari") == []
        assert await store.current("slack", "C2") == "ants"  # other channels keep theirs
        assert await store.remove("kari") is False  # nothing left to remove

        await save(store, "kari", 2)  # added again: no channel reads it until someone chooses it
        assert await store.current("slack", "C1") is None


@KINDS
async def test_the_version_is_a_token_every_change_bumps(kind: str, tmp_path: Path) -> None:
    """Watchers compare it with their last look: it changes on each bump (the service bumps after each
    add, replace or remove, also of a reading only the index knew), and only then."""
    async with open_database(kind, tmp_path) as db:
        store = ReadingStore(db)
        seen = [await store.version()]
        assert seen[0] == ""  # nothing changed yet

        async def changed() -> None:
            await store.bump_version()
            version = await store.version()
            assert version != seen[-1] and version not in seen, (version, seen)
            assert await store.version() == version  # looking twice, nothing happening: the same
            seen.append(version)

        await save(store, "kari", 0)
        await changed()
        await save(store, "kari", 3, title="Kari, again")  # a replacement
        await changed()
        await store.use("slack", "C1", "kari", by="mod-1", now=at(4))  # choosing a reading bumps nothing
        assert await store.version() == seen[-1]
        assert await store.remove("kari")
        await changed()
        assert not await store.remove("kari")  # a reading only the index knew: the service still bumps
        await changed()
        assert len(set(seen)) == 5


SOURDOUGH = """# Sourdough at Home

## The Starter

Feed the starter twice a day with equal weights of rye flour and water, and discard half of it before each feeding.
A healthy starter doubles in size within six hours of a feeding and smells pleasantly sour, like yoghurt.

## Baking the Loaf

Bake the loaf in a Dutch oven preheated to 250 degrees Celsius for twenty minutes with the lid on.
Let the bread cool on a rack for at least an hour before slicing it, or the crumb turns gummy.
"""
MOD = User("mod-1", "Moderator")
MEMBER = User("member-1", "Member")


async def say(adapter: ConsoleAdapter, user: User, line: str) -> str:
    adapter.user = user
    before = len(adapter.posted)
    await adapter.handle_line(line)
    return "\n".join(reply.text for _, reply in adapter.posted[before:])


def console(kit: AdapterKit) -> ConsoleAdapter:
    return ConsoleAdapter(kit.dispatcher, io.StringIO(), user=MEMBER, commands=kit.commands)


async def test_a_restart_on_the_same_postgresql_database_keeps_the_channels_reading(tmp_path: Path) -> None:
    book = tmp_path / "sourdough.md"
    book.write_text(SOURDOUGH, encoding="utf-8")
    async with postgres_url() as url:
        env = {
            "READBOT_DATA_DIR": str(tmp_path / "data"),
            "READBOT_DATABASE_URL": url,
            "READBOT_MODERATORS": MOD.id,
            "READBOT_CONFIG": str(tmp_path / "none.toml"),
        }
        settings = Settings.from_env(env, dotenv=None)
        async with open_app(settings, adapters=[console], run_tasks=False) as app:
            assert app.db.dialect == "postgresql"
            (adapter,) = app.adapters
            assert isinstance(adapter, ConsoleAdapter)
            assert "Added “Sourdough at Home” (sourdough)" in await say(adapter, MOD, f"/reading add sourdough {book}")
            assert "This channel now reads “Sourdough at Home”" in await say(adapter, MOD, "/reading use sourdough")
            channel = adapter.channel.id

        async with open_app(settings, adapters=[console], run_tasks=False) as app:  # restarted
            (adapter,) = app.adapters
            assert isinstance(adapter, ConsoleAdapter)
            assert await app.readings.current("console", channel) == "sourdough"
            shown = await say(adapter, MEMBER, "/reading")
            assert shown.startswith("This channel is reading “Sourdough at Home” (sourdough): 2 sections"), shown
            await say(adapter, MEMBER, "How often should the starter be fed?")
            _, answer = adapter.posted[-1]
            assert answer.citations and answer.citations[0].reading == "sourdough"
            assert answer.citations[0].section == "The Starter"
            reading = await app.readings.store.get("sourdough")
            assert reading is not None and reading.status == "ready" and reading.added_by == MOD.id


@pytest.mark.asyncio
async def test_readbot_ingest_of_a_reading_tells_running_processes(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`readbot ingest --reading X` changes the index under running readbot processes: it bumps the
    readings' version, which their watchers poll (as /reading add does); nothing changed, no bump."""
    from bot.store.db import Database, database_url

    data_dir = tmp_path / "data"
    story = tmp_path / "story.md"
    story.write_text("# A short story\n\n## Part 1\n\nThe miller's daughter spun straw into gold.\n", encoding="utf-8")

    async def version() -> str:
        db = await Database.open(database_url("", data_dir))
        try:
            return await ReadingStore(db).version()
        finally:
            await db.close()

    first = run_readbot(["ingest", "--reading", "story", str(story)], data_dir=data_dir)
    assert first.returncode == 0, first.stderr
    after_add = await version()
    assert after_add != ""
    same = run_readbot(["ingest", "--reading", "story", str(story)], data_dir=data_dir)
    assert same.returncode == 0 and "1 unchanged" in same.stdout, same.stdout + same.stderr
    assert await version() == after_add  # unchanged: no reload asked for
    story.write_text(story.read_text(encoding="utf-8") + "\nShe named the little man.\n", encoding="utf-8")
    changed = run_readbot(["ingest", "--reading", "story", str(story)], data_dir=data_dir)
    assert changed.returncode == 0 and "1 updated" in changed.stdout, changed.stdout + changed.stderr
    assert await version() not in ("", after_add)
