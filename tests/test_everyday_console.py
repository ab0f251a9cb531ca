"""The everyday basics on the console (`readbot chat`), through the real app (open_app) and the
console adapter: help built from the declarations, /poll cancel, close times in the configured time
zone, charts written under DATA_DIR/console, `polls list` and the CSV export, and the terminal
mode (prompt_toolkit) keeping the line being typed while a live edit is printed."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, App, command_specs, open_app
from bot.clock import ManualClock
from bot.core.events import User, Visibility
from bot.polls.export import export, list_polls
from bot.settings import Settings

pytestmark = pytest.mark.asyncio
MOD = User("mod-1", "Moderator")
MEMBER = User("member-1", "Member")
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
CLAIM = "Research taste matters more than compute."


@dataclass
class Chat:
    app: App
    adapter: ConsoleAdapter
    out: io.StringIO
    clock: ManualClock
    data: Path

    async def say(self, line: str, user: User = MOD) -> None:
        self.adapter.user = user
        await self.adapter.handle_line(line)

    async def answer(self, line: str, user: User = MOD) -> str:
        """The one private line a command answers with."""
        before = len(self.adapter.posted)
        await self.say(line, user)
        assert len(self.adapter.posted) == before + 1, self.adapter.posted[before:]
        reply = self.adapter.posted[-1][1]
        assert reply.visibility is Visibility.PRIVATE
        return reply.text

    def public(self) -> list[str]:
        return [r.text for _, r in self.adapter.posted if r.visibility is Visibility.PUBLIC]


@pytest_asyncio.fixture
async def chat(tmp_path: Path, knowledge_service: Any) -> AsyncIterator[Chat]:
    data = tmp_path / "data"
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(data),
            "READBOT_MODERATORS": MOD.id,
            "READBOT_TIMEZONE": "Europe/Berlin",
            "READBOT_CONFIG": str(tmp_path / "none.toml"),
        },
        dotenv=None,
    )
    out = io.StringIO()
    clock = ManualClock(T0)

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=MEMBER, commands=kit.commands, files_dir=data / "console")

    async with open_app(settings, adapters=[console], knowledge=knowledge_service, clock=clock, run_tasks=False) as app:
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)
        yield Chat(app, adapter, out, clock, data)


# ---------------------------------------------------------------- help


def listed(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith("• /")]


async def test_help_lists_what_a_member_may_use_and_a_moderator_everything(chat: Chat) -> None:
    member = await chat.answer("/help", MEMBER)
    assert member.startswith("Commands you can use here:")
    assert listed(member) == ["/ask", "/prompt", "/reading", "/recap", "/help"]
    assert "• /ask [private:] [your question about the reading]: Ask a question about the reading" in member
    assert "Moderators have more commands" in member
    moderator = await chat.answer("/help", MOD)
    declared = [f"/{spec.name}" for spec in command_specs()]
    assert sorted(listed(moderator)) == sorted(declared)  # every declaration, one line each
    for spec in command_specs():  # one example each: the declared usage
        assert f"• /{spec.name} {spec.usage}".rstrip() + ":" in moderator
    assert "Moderators have more" not in moderator
    assert await chat.answer("help", MEMBER) == member  # a message that is only "help"
    assert (await chat.answer("/help poll", MOD)).startswith("/poll [claim | option | option]")
    assert await chat.answer("/help poll", MEMBER) == "/poll is for moderators only."
    assert not chat.public()


async def test_an_unknown_command_answers_with_the_list_and_extra_words_get_one_line(chat: Chat) -> None:
    unknown = await chat.answer("/frobnicate now", MEMBER)
    first, rest = unknown.split("\n", 1)
    assert first == "I don't know the command /frobnicate."
    assert rest == await chat.answer("/help", MEMBER)
    for line in ("/help extra words", "/help me please now"):
        said = await chat.answer(line, MEMBER)
        assert "\n" not in said and said.startswith("Help takes at most one command's name")
    assert "\n" not in await chat.answer("/help frobnicate", MEMBER)
    assert await chat.app.polls.service.all() == [] and not chat.public()  # nothing changed, nothing posted


# ---------------------------------------------------------------- /poll cancel


async def test_a_cancelled_poll_posts_nothing_and_lists_as_cancelled(chat: Chat) -> None:
    service = chat.app.polls.service
    assert await chat.answer("/poll cancel", MOD) == "There is no open poll here to cancel."
    await chat.say(f"/poll {CLAIM} | yes | no duration=90m", MOD)
    card = chat.adapter.posted[-1][1]
    assert "closes 03 Nov 11:30 CET" in card.text  # READBOT_TIMEZONE, not UTC
    await chat.say("click 1", MEMBER)
    await chat.app.polls.live.drain()
    (poll,) = await service.all()

    assert await chat.answer("/poll cancel", MEMBER) == "Only moderators can cancel polls."
    assert (await service.get(poll.id)).status == "open"  # type: ignore[union-attr]
    assert "\n" not in await chat.answer("/poll cancel two words", MOD)
    assert (await service.get(poll.id)).status == "open"  # type: ignore[union-attr]

    posted_before = len(chat.public())
    said = await chat.answer("/poll cancel", MOD)
    assert said.startswith("Poll cancelled:") and "No results are posted." in said
    assert (await service.get(poll.id)).status == "cancelled"  # type: ignore[union-attr]
    _, final = chat.adapter.updates[-1]
    assert "This poll was cancelled by a moderator (03 Nov 10:00 CET)" in final.text and not final.buttons
    assert len(chat.public()) == posted_before  # no results, no chart
    assert not any(r.image for _, r in chat.adapter.posted)

    await chat.say("click 1", MEMBER)  # a button of the old card (the console keeps the last card with buttons)
    assert "cancelled" in chat.adapter.posted[-1][1].text
    assert await chat.answer(f"/poll cancel {poll.id}", MOD) == (
        "That poll is already cancelled; only an open poll can be cancelled."
    )
    assert await chat.answer("/poll cancel", MOD) == "There is no open poll here to cancel."
    assert "  cancelled  " in await list_polls(service)
    chat.clock.advance(hours=3)
    assert await chat.app.polls.close_due() == 0  # its deadline passing posts nothing either
    assert len(chat.public()) == posted_before


async def test_a_closed_polls_chart_is_written_under_the_data_dir_and_its_path_printed(chat: Chat) -> None:
    await chat.say(f"/poll {CLAIM} | yes | no", MOD)
    await chat.say("click 2", MEMBER)
    await chat.say("/poll close", MOD)
    results = next(r for _, r in chat.adapter.posted if r.text.startswith("Results:"))
    assert results.image is not None
    path = chat.data / "console" / results.image_name
    assert path.read_bytes() == results.image and path.read_bytes().startswith(b"\x89PNG")
    assert f"[image: {path.resolve()}, {len(results.image):,} bytes]" in chat.out.getvalue()
    assert "closed 03 Nov 10:00 CET" in chat.adapter.updates[-1][1].text


async def test_polls_list_grammar_and_the_csv_lists_every_poll_with_its_channel(chat: Chat) -> None:
    service = chat.app.polls.service
    await chat.say(f"/poll {CLAIM} | yes | no", MOD)
    await chat.say("click 1", MEMBER)
    await chat.say("/poll close", MOD)
    await chat.say("/poll Nobody will vote on this one. | yes | no", MOD)  # no votes
    lines = (await list_polls(service)).splitlines()
    assert len(lines) == 2
    assert "  1 voter  " in lines[0] and "voters" not in lines[0]
    assert "  0 voters  " in lines[1]
    rows = list(csv.reader(io.StringIO(await export(service, None, "csv"))))
    assert rows[0] == ["poll_id", "platform", "channel", "claim", "status", "voter", "option", "voted_at"]
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in rows[1:]] == [
        ("console", "reading-group", CLAIM, "closed", "yes"),
        ("console", "reading-group", "Nobody will vote on this one.", "open", ""),  # listed, with no vote
    ]


# ---------------------------------------------------------------- the terminal


async def test_on_a_terminal_a_live_edit_is_printed_above_the_line_being_typed(
    tmp_path: Path, knowledge_service: Any
) -> None:
    """`readbot chat` on a terminal: prompt_toolkit reads the line; a card edit printed while a
    question is half typed does not break it (the question arrives whole and is answered)."""
    from prompt_toolkit.application import create_app_session
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output.plain_text import PlainTextOutput

    from bot.runner import run_console

    settings = Settings.from_env(
        {"READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_CONFIG": str(tmp_path / "none.toml")}, dotenv=None
    )
    screen = io.StringIO()
    with create_pipe_input() as keys, create_app_session(input=keys, output=PlainTextOutput(screen)):
        chat = asyncio.create_task(
            run_console(settings, io.StringIO(), io.StringIO(), terminal=True, knowledge=knowledge_service)
        )

        async def shown(text: str) -> None:
            for _ in range(600):
                if text in screen.getvalue():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"{text!r} never shown in {screen.getvalue()[-2000:]!r}")

        await shown("you>")
        keys.send_text(f"/poll {CLAIM} | yes | no\r")
        await shown("[1: yes]")
        keys.send_text("click 1\r/he")  # the vote edits the card while "/help" is being typed
        await shown("(edited message 1)")
        keys.send_text("lp\r")  # a broken line would send "lp" as a question; the whole one lists commands
        await shown("Commands you can use here:")
        keys.send_text("What does Ilya say about vibe coding?\r")
        await shown("source: “The disconnect between model capability and real-world performance”")
        keys.send_text("\x04")  # Ctrl-D
        await asyncio.wait_for(chat, 30)
    transcript = screen.getvalue()
    after_edit = transcript[transcript.index("(edited message 1)") :]
    assert "\nyou> /help" in after_edit  # the prompt is redrawn below the edit with what was typed
    assert "readbot chat: ask about the reading" in transcript
    assert transcript.index("(edited message 1)") < transcript.index("Commands you can use here:")
    assert "I don't know" not in transcript and "Sorry" not in transcript


# ---------------------------------------------------------------- the first run


async def test_the_demo_shows_the_three_jobs_and_how_to_go_on(tmp_path: Path, knowledge_service: Any) -> None:
    """`make run` calls `readbot demo` after ingest: a question with its citation, a prompt posted, a
    poll with a vote, its tally and the chart's path, then `readbot chat` and how to connect Slack or
    Discord. Its poll and prompt live in DATA_DIR/demo, never in the real database."""
    from bot.runner import run_demo

    data = tmp_path / "data"
    settings = Settings.from_env(
        {"READBOT_DATA_DIR": str(data), "READBOT_CONFIG": str(tmp_path / "none.toml")}, dotenv=None
    )
    out = io.StringIO()
    await run_demo(settings, "What does Ilya say about vibe coding?", out, knowledge=knowledge_service)
    text = out.getvalue()
    assert "Traceback" not in text and "Sorry" not in text
    one, two, three = (text.index(f"\n{n}. ") for n in (1, 2, 3))
    assert one < two < three
    asked = text[one:two]
    assert "you> What does Ilya say about vibe coding?" in asked
    assert "[source: “The disconnect between model capability and real-world performance”" in asked
    prompt = text[two:three]
    assert "you> /prompt now" in prompt and "readbot> Discussion question: " in prompt
    poll = text[three:]
    assert "you> click 2" in poll and "Thanks, your vote “Agree” is counted." in poll
    assert "\n1 voter\n" in poll and "Agree: 1 (100%)" in poll and "readbot> Results: " in poll
    (image,) = [line for line in poll.splitlines() if line.startswith("  [image: ")]
    path = Path(image.removeprefix("  [image: ").rsplit(",", 2)[0])
    assert path.is_file() and path.is_relative_to(data / "demo" / "console") and path.read_bytes()[:4] == b"\x89PNG"
    assert "readbot chat" in text and "Connect Slack" in text and "Connect Discord" in text
    assert not (data / "readbot.db").exists()  # the real database is untouched

    again = io.StringIO()  # a second run starts afresh (one poll, not two)
    await run_demo(settings, "What does Ilya say about vibe coding?", again, knowledge=knowledge_service)
    assert "\n1 voter\n" in again.getvalue()
    assert len(list((data / "demo" / "console").glob("*.png"))) == 1
