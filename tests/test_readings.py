"""Readings, plural: added from a file (CLI and chat), listed, chosen per channel, removed; a running
app sees a reading another process added; the channel's reading is searched first.

Real files (FairytaleQA val stories, ready-made markdown readings; formats of their own are tested in
test_reading_formats.py), the real knowledge service and Chroma, real SQLite."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, App, open_app
from bot.core.events import User
from bot.settings import Settings
from tests.readings_support import FAIRYTALES as SHARED

KARI = SHARED / "kari-woodencoat.md"
ANTS = SHARED / "the-king-of-the-ants.md"
MOD = User("mod-1", "Moderator")
MEMBER = User("member-1", "Member")


def headings(path: Path) -> list[str]:
    return [line[3:].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("## ")]


def test_cli_add_list_ask_remove(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    added = run_readbot(["readings", "add", str(KARI), "--id", "kari-woodencoat"], data_dir=data)
    assert added.returncode == 0, added.stderr
    lines = added.stdout.strip().splitlines()
    assert len(lines) == 1 and "kari-woodencoat" in lines[0] and f"{len(headings(KARI))} sections" in lines[0]

    listed = run_readbot(["readings", "list", "--json"], data_dir=data)
    assert listed.returncode == 0, listed.stderr
    readings = {r["id"]: r for r in json.loads(listed.stdout)}
    assert readings["kari-woodencoat"]["sections"] == headings(KARI)  # "## Part 2" is "Part 2", in order
    assert readings["kari-woodencoat"]["title"] == "Kari Woodencoat"
    assert "dwarkesh-107-ilya-sutskever" in readings  # the shipped reading stays one reading among others

    asked = run_readbot(["ask", "--json", "--reading", "kari-woodencoat", "What job was Kari given?"], data_dir=data)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["sources"] and answer["sources"][0]["section"] in readings["kari-woodencoat"]["sections"]

    again = run_readbot(["readings", "add", str(KARI), "--id", "kari-woodencoat", "--title", "Kari"], data_dir=data)
    assert again.returncode == 0 and "“Kari”" in again.stdout  # an existing id is replaced, not doubled
    relisted = json.loads(run_readbot(["readings", "list", "--json"], data_dir=data).stdout)
    assert [r["id"] for r in relisted].count("kari-woodencoat") == 1

    removed = run_readbot(["readings", "remove", "kari-woodencoat"], data_dir=data)
    assert removed.returncode == 0 and removed.stdout.strip() == "removed kari-woodencoat"
    gone = run_readbot(["ask", "--reading", "kari-woodencoat", "What job was Kari given?"], data_dir=data)
    assert gone.returncode == 2 and len(gone.stderr.strip().splitlines()) == 1 and "kari-woodencoat" in gone.stderr
    left = {r["id"] for r in json.loads(run_readbot(["readings", "list", "--json"], data_dir=data).stdout)}
    assert "kari-woodencoat" not in left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["readings", "remove", "no-such-reading"], "no reading called"),
        (["readings", "add", "MISSING.md", "--id", "x1"], "MISSING.md"),
        (["readings", "add", "BAD_ID", "--id", "Not An Id"], "can't be a reading id"),
    ],
)
def test_cli_bad_input_is_one_line(run_readbot, tmp_path: Path, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    if args[2] == "BAD_ID":
        args = [*args[:2], str(KARI), *args[3:]]
    result = run_readbot(args, data_dir=tmp_path / "data")
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


class Chat:
    def __init__(self, app: App) -> None:
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)
        self.app, self.adapter = app, adapter

    async def say(self, user: User, line: str) -> str:
        self.adapter.user = user
        before = len(self.adapter.posted)
        await self.adapter.handle_line(line)
        return "\n".join(reply.text for _, reply in self.adapter.posted[before:])


def settings_for(tmp_path: Path) -> Settings:
    return Settings.from_env({"READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_MODERATORS": MOD.id}, dotenv=None)


def console(kit: AdapterKit) -> ConsoleAdapter:
    return ConsoleAdapter(kit.dispatcher, io.StringIO(), user=MEMBER, commands=kit.commands)


@pytest.mark.asyncio
async def test_in_chat_a_moderator_adds_and_uses_a_reading_which_survives_a_restart(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    async with open_app(settings, adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        assert "No reading is set for this channel" in await chat.say(MEMBER, "/reading")
        assert "Only moderators can add readings." in await chat.say(MEMBER, f"/reading add kari {KARI}")
        assert "Only moderators can use readings." in await chat.say(MEMBER, "/reading use kari")
        said = await chat.say(MOD, f"/reading add kari {KARI}")
        assert f"Added “Kari Woodencoat” (kari) from {KARI.name}: {len(headings(KARI))} sections" in said
        assert "• kari: “Kari Woodencoat”" in await chat.say(MEMBER, "/reading list")
        assert "There is no reading called “nope”" in await chat.say(MOD, "/reading use nope")
        assert "No reading is set" in await chat.say(MEMBER, "/reading")  # a failed use changes nothing
        assert "This channel now reads “Kari Woodencoat” (kari)" in await chat.say(MOD, "/reading use kari")
        await chat.say(MEMBER, "Why did the king remarry?")
        _, answer = chat.adapter.posted[-1]
        assert answer.citations and answer.citations[0].reading == "kari"
    async with open_app(settings, adapters=[console], run_tasks=False) as app:  # a restart
        chat = Chat(app)
        assert "This channel is reading “Kari Woodencoat” (kari)" in await chat.say(MEMBER, "/reading")
        said = await chat.say(MEMBER, "What does Ilya say about vibe coding?")  # only the shipped reading has it
        assert "This comes from the reading “dwarkesh-107-ilya-sutskever”" in said
        assert "Removed the reading kari" in await chat.say(MOD, "/reading remove kari")
        assert "No reading is set for this channel" in await chat.say(MEMBER, "/reading")


@pytest.mark.asyncio
async def test_bad_files_in_chat_get_one_private_line_and_change_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.epub"
    junk.write_bytes(b"\x00\x01 not an epub at all" * 10)
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    async with open_app(settings_for(tmp_path), adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        for line in (f"/reading add junk {junk}", f"/reading add empty {empty}", "/reading add nofile"):
            said = await chat.say(MOD, line)
            assert said and "\n" not in said and "Traceback" not in said, said
            assert chat.adapter.posted[-1][1].visibility.value == "private"
        ids = {r.id for r in await app.readings.listed()}
        assert ids == {"dwarkesh-107-ilya-sutskever"}  # nothing half-added


@pytest.mark.asyncio
async def test_a_running_app_sees_a_reading_another_process_added(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = settings_for(tmp_path)
    async with open_app(settings, adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        assert not await app.readings_watcher.check()  # the first look: nothing changed yet
        added = run_readbot(["readings", "add", str(ANTS), "--id", "ants"], data_dir=settings.data_dir)
        assert added.returncode == 0, added.stderr
        assert await app.readings_watcher.check()  # the watcher saw it and reloaded the index
        assert "• ants:" in await chat.say(MEMBER, "/reading list")
        await chat.say(MOD, "/reading use ants")
        await chat.say(MEMBER, "Who wandered away from his home and went to Emmet village?")
        _, answer = chat.adapter.posted[-1]
        assert answer.citations and answer.citations[0].reading == "ants"
        removed = run_readbot(["readings", "remove", "ants"], data_dir=settings.data_dir)
        assert removed.returncode == 0, removed.stderr
        assert await app.readings_watcher.check()
        assert "No reading is set for this channel" in await chat.say(MEMBER, "/reading")


def test_reading_id_rules() -> None:
    from bot.errors import InputError
    from bot.readings.store import check_id

    assert check_id(" kari-woodencoat ") == "kari-woodencoat"
    for bad in ("", "Kari", "-x", "a b", "x" * 65, "ünï"):
        with pytest.raises(InputError):
            check_id(bad)


def test_removing_every_reading_does_not_bring_the_shipped_one_back(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    listed = json.loads(run_readbot(["readings", "list", "--json"], data_dir=data).stdout)  # an empty data dir
    assert [r["id"] for r in listed] == ["dwarkesh-107-ilya-sutskever"]  # the shipped reading, indexed by itself
    assert listed[0]["title"].startswith("Ilya Sutskever")
    assert run_readbot(["readings", "remove", "dwarkesh-107-ilya-sutskever"], data_dir=data).returncode == 0
    assert json.loads(run_readbot(["readings", "list", "--json"], data_dir=data).stdout) == []
    gone = run_readbot(["ask", "--reading", "dwarkesh-107-ilya-sutskever", "What is SSI?"], data_dir=data)
    assert gone.returncode == 2 and len(gone.stderr.strip().splitlines()) == 1
    anything = run_readbot(["ask", "--json", "What is SSI?"], data_dir=data)
    assert anything.returncode == 0 and json.loads(anything.stdout)["grounded"] is False
    assert run_readbot(["ingest"], data_dir=data).returncode == 0  # `readbot ingest` brings it back, asked to
    assert [r["id"] for r in json.loads(run_readbot(["readings", "list", "--json"], data_dir=data).stdout)] == [
        "dwarkesh-107-ilya-sutskever"
    ]
