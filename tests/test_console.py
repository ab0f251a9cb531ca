"""The platform scenarios, in-process, against the console adapter (`readbot chat`)."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import pytest_asyncio

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, command_specs, open_app
from bot.clock import ManualClock
from bot.core.events import Message, User, Where
from bot.settings import Settings

pytestmark = pytest.mark.asyncio
MASS = re.compile(r"@(everyone|here|channel)\b|<!(channel|here|everyone)")
VIBE = "What does Ilya say about vibe coding?"
DISCONNECT = "The disconnect between model capability and real-world performance"
MOD = User("mod-1", "Moderator")
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def chat(tmp_path, knowledge_service):  # type: ignore[no-untyped-def]
    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path), "READBOT_MODERATORS": MOD.id}, dotenv=None)
    out = io.StringIO()

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=User("member-1", "Member"))

    async with open_app(
        settings, adapters=[console], knowledge=knowledge_service, clock=ManualClock(T0), run_tasks=False
    ) as app:
        (adapter,) = app.adapters
        yield app, adapter, out


async def say(adapter: ConsoleAdapter, user: User, line: str) -> None:
    adapter.user = user
    await adapter.handle_line(line)


async def test_a_question_is_answered_with_its_section_cited(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, out = chat
    await adapter.handle_line(VIBE)
    where, reply = adapter.posted[-1]
    assert where.thread_id  # answered in the question's thread
    assert reply.citations and reply.citations[0].section == DISCONNECT
    assert "bug" in reply.text and f"source: “{DISCONNECT}”" in out.getvalue()


async def test_ask_command_and_bad_input(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, out = chat
    await adapter.handle_line("/ask Should humans merge with AI?")
    assert adapter.posted[-1][1].citations[0].section == "Alignment and long-term safety"
    for bad in ("/ask", "/ask " + "x" * 2500, "/ask ??"):
        await adapter.handle_line(bad)
        assert adapter.posted[-1][1].visibility.value == "private"
    assert "Traceback" not in out.getvalue()


async def test_not_covered_is_said_plainly(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, _ = chat
    await adapter.handle_line("What did Ilya say about baking sourdough bread?")
    reply = adapter.posted[-1][1]
    assert reply.text.startswith("The reading doesn't cover that.") and not reply.citations


async def test_no_mass_mention_ever(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, out = chat
    await adapter.handle_line("@everyone <!channel> @here what is SSI's straight-shot plan?")
    assert adapter.posted and not MASS.search(adapter.posted[-1][1].text)
    assert not MASS.search(out.getvalue())


async def test_bots_are_ignored(chat) -> None:  # type: ignore[no-untyped-def]
    core, adapter, _ = chat
    event = Message("bot-1", Where(adapter.channel), User("B1", "some bot", is_bot=True), VIBE, "bot-1")
    assert await core.dispatcher.dispatch(event, None) is False  # type: ignore[arg-type]
    assert adapter.posted == []


async def test_follow_up_in_a_thread_uses_the_earlier_question(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, _ = chat
    await adapter.handle_line("Why does Ilya want AI to care about sentient life?")
    await adapter.handle_line("and why is that more robust?")
    assert adapter.posted[-1][1].citations[0].section == "Alignment and long-term safety"


async def test_poll_flow_start_vote_change_refuse_close_results(chat) -> None:  # type: ignore[no-untyped-def]
    core, adapter, _ = chat
    await say(adapter, User("member-1"), "/poll Humans should merge with AI to keep their agency.")
    assert adapter.posted[-1][1].text == "Only moderators can start polls."
    assert not adapter.cards
    await say(adapter, MOD, "/poll Humans should merge with AI to keep their agency. duration=5m")
    _, card = adapter.cards[-1]
    assert "Strongly agree: 0" in card.text and "Alignment and long-term safety" in card.text
    for user, button in (("u1", 2), ("u2", 2), ("u3", 4), ("u3", 2)):  # u3 changes their mind
        await say(adapter, User(user), f"click {button}")
    assert adapter.posted[-1][1].text.startswith("Vote changed")
    await say(adapter, User("u1"), "click 2")
    assert "already voted" in adapter.posted[-1][1].text
    await say(adapter, User("u2"), "click 6")  # Close: moderators only
    assert adapter.posted[-1][1].text == "Only moderators can close polls."
    await core.polls.live.drain()
    assert "Agree: 3 (100%)" in adapter.updates[-1][1].text and "3 voters" in adapter.updates[-1][1].text
    core.clock.advance(minutes=6)
    assert await core.polls.close_due() == 1
    final = adapter.updates[-1][1]
    assert final.buttons == () and "closed" in final.text
    results = adapter.posted[-1][1]
    assert results.text.startswith("Results:") and results.image and results.image[:4] == b"\x89PNG"
    await say(adapter, User("u4"), "click 1")  # the old card's button, after closing
    assert "closed" in adapter.posted[-1][1].text


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/poll x | a | a", "different"),
        ("/poll Claim | only", "2 to 5 options"),
        ("/poll Claim | a | b | c | d | e | f", "2 to 5 options"),
        ("/poll Claim duration=9d", "1 minute to 7 days"),
        ("/poll Claim duration=soon", "can't read the duration"),
        ("/poll " + "y" * 301, "300"),
        ("/poll Claim anonymous=maybe", "on or off"),
        ("/poll close", "no open poll"),
    ],
)
async def test_bad_poll_input_gets_a_private_message_and_posts_nothing(chat, line, message) -> None:  # type: ignore[no-untyped-def]
    _, adapter, _ = chat
    await say(adapter, MOD, line)
    reply = adapter.posted[-1][1]
    assert reply.visibility.value == "private" and message in reply.text
    assert not adapter.cards


async def test_poll_without_claim_takes_the_next_bank_claim_not_yet_polled(chat) -> None:  # type: ignore[no-untyped-def]
    _, adapter, _ = chat
    await say(adapter, MOD, "/poll")
    first = adapter.cards[-1][1].text.splitlines()[0]
    await say(adapter, MOD, "/poll")
    second = adapter.cards[-1][1].text.splitlines()[0]
    assert first.startswith("Poll: “") and first != second


@pytest.mark.asyncio(loop_scope="function")
async def test_readbot_chat_runs_as_a_person_would(tmp_path, cli_env) -> None:  # type: ignore[no-untyped-def]
    lines = f"{VIBE}\n/ask\n/poll\n"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "chat"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        env={**cli_env, "READBOT_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert DISCONNECT in done.stdout
    assert "(only you can see this) Please ask a question" in done.stdout
    assert "Poll: “" in done.stdout  # the console's person is a moderator
    assert "Traceback" not in done.stdout + done.stderr


async def test_in_chat_a_one_minute_poll_closes_at_its_deadline_and_posts_its_results(  # type: ignore[no-untyped-def]
    tmp_path, knowledge_service
) -> None:
    """The composition root runs the deadline watcher for the console too (it used to run only
    under `readbot run`, so a chat poll stayed open forever)."""
    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path), "READBOT_MODERATORS": MOD.id}, dotenv=None)
    out = io.StringIO()
    clock = ManualClock(T0)

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=MOD)

    async with open_app(settings, adapters=[console], knowledge=knowledge_service, clock=clock) as app:
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)
        assert {t.get_name() for t in app.tasks} == {
            "poll-deadlines",
            "prompt-scheduler",
            "readings-watcher",
            "ask-suggestions",  # /ask's autocomplete kept fresh
            "outbox",
        }
        assert app.dispatcher.routes.specs == command_specs()  # what Slack's manifest is checked against
        await adapter.handle_line("/poll Quick test | A | B duration=1")
        await adapter.handle_line("click 1")
        (poll,) = await app.polls.service.all()
        assert poll.status == "open"
        clock.advance(seconds=59)
        await asyncio.sleep(0.2)
        assert not adapter.posted[-1][1].text.startswith("Results:")  # not before its deadline
        for _ in range(100):  # time goes on; the watcher, asleep on this clock, wakes at the deadline
            clock.advance(seconds=1)
            await asyncio.sleep(0.02)
            if adapter.posted[-1][1].text.startswith("Results:"):
                break
        results = adapter.posted[-1][1]
        assert results.text.startswith("Results:") and results.image and results.image[:4] == b"\x89PNG"
        assert "A: 1" in results.text
        assert adapter.updates[-1][1].buttons == ()  # the card is final: no buttons
        (poll,) = await app.polls.service.all()
        assert poll.status == "closed"
