"""Slack end to end through the real slack-bolt client against ``tests/fakes/slack_server``:
follow-ups in readbot's threads without a mention (and members' chat left alone), /recap of a thread
the test writes ("@readbot /recap": Slack runs no slash command in a thread), and the assistant side
panel (thread started → greeting and suggested prompts from the bank → an answer with a title and a
status)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.assistant import GREETING, THINKING, TITLE_LIMIT, shorten
from bot.app import AdapterKit, App, open_app
from bot.clock import ManualClock
from bot.core.events import Channel, Where
from bot.prompts.bank import load_questions
from bot.prompts.render import prompt_post
from bot.recap.handler import EMPTY, NOT_IN_THREAD, RecapHandler
from bot.recap.scheduled import ScheduledRecaps
from bot.settings import Settings
from bot.store.threads import BotThreads
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    RecordedCall,
    new_ts,
    send_app_mention,
    send_assistant_thread_started,
    send_message_event,
    send_slash_command,
)

SECRET = "readbot-test-signing-secret"
VIBE_QUESTION = "What does Ilya say about vibe coding?"
FOLLOW_UP = "what are the two possible explanations for it"
TIMEOUT = 60.0
QUIET = 0.5
e2e = pytest.mark.asyncio(loop_scope="module")


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:9].upper()}"


def in_thread(channel: str, thread: str) -> Callable[[RecordedCall], bool]:
    return lambda c: c.args.get("channel") == channel and c.args.get("thread_ts") == thread


@dataclasses.dataclass
class Bot:
    fake: FakeSlackAPI
    url: str
    app: App


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(knowledge_service: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bot]:
    data_dir = tmp_path_factory.mktemp("slack-idioms")
    async with FakeSlackAPI() as fake:
        env = {
            "READBOT_DATA_DIR": str(data_dir),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_CONFIG": str(data_dir / "none.toml"),
        }
        settings = dataclasses.replace(Settings.from_env(env, dotenv=None), http_port=0)

        def slack(kit: AdapterKit) -> SlackAdapter:
            return SlackAdapter(
                kit.settings,
                kit.dispatcher,
                host="127.0.0.1",
                commands=kit.commands,
                suggested_prompts=kit.suggested_prompts,
            )

        async with open_app(settings, adapters=[slack], knowledge=knowledge_service, run_tasks=False) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter)
            yield Bot(fake, f"http://127.0.0.1:{adapter.http_port}/slack/events", app)


async def quiet(bot: Bot, method: str, predicate: Callable[[RecordedCall], bool], already: int = 0) -> None:
    """Nothing more matching is posted (after the events in flight are handled) than ``already``."""
    await asyncio.sleep(QUIET)
    (adapter,) = bot.app.adapters
    assert isinstance(adapter, SlackAdapter)
    await adapter.idle()
    assert len([c for c in bot.fake.calls_to(method) if predicate(c)]) == already


async def member_says(bot: Bot, channel: str, thread: str, text: str, user: str = "U0000ANA") -> None:
    """A member's reply in a thread, without a mention: stored (history) and delivered as an event."""
    message = bot.fake.add_message(channel, text, user=user, thread_ts=thread)
    await send_message_event(bot.url, SECRET, text, channel=channel, user=user, ts=message["ts"], thread_ts=thread)


@e2e
async def test_follow_up_in_an_answers_thread_needs_no_mention(bot: Bot) -> None:
    channel, ts = new_channel(), new_ts()
    bot.fake.add_message(channel, f"<@UBOT> {VIBE_QUESTION}", ts=ts)
    await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, ts=ts)
    await bot.fake.wait_for_call("chat.postMessage", in_thread(channel, ts), timeout=TIMEOUT)

    await member_says(bot, channel, ts, "haha the bug part is so relatable")  # chat: left alone
    await member_says(bot, channel, ts, "@bo why do you think so?", user="U0000CY")  # to someone else
    await quiet(bot, "chat.postMessage", in_thread(channel, ts), already=1)  # the first answer only

    await member_says(bot, channel, ts, FOLLOW_UP)
    answers = await bot.fake.wait_for_calls("chat.postMessage", 2, in_thread(channel, ts), timeout=TIMEOUT)
    assert "explanation" in answers[1].args["text"].lower()


@e2e
async def test_question_in_a_prompts_thread_is_answered_but_not_elsewhere(bot: Bot) -> None:
    channel = new_channel()
    question = load_questions()[0]
    ref = await bot.app.outbox.send(Where(Channel("slack", channel)), prompt_post(question))  # the scheduler's path
    thread = ref.message_id
    await member_says(bot, channel, thread, "Why does he say models generalize worse than people")
    await bot.fake.wait_for_call("chat.postMessage", in_thread(channel, thread), timeout=TIMEOUT)

    other, top = new_channel(), new_ts()  # a thread between members: readbot didn't start it
    bot.fake.add_message(other, "the book club starts at 7", ts=top)
    await member_says(bot, other, top, "Why does he say models generalize worse than people?")
    await quiet(bot, "chat.postMessage", lambda c: c.args.get("channel") == other)


@e2e
async def test_recap_of_a_thread_the_test_writes(bot: Bot) -> None:
    channel = new_channel()
    ref = await bot.app.outbox.send(Where(Channel("slack", channel)), prompt_post(load_questions()[0]))
    thread = ref.message_id
    said = [
        ("U0000ANA", "I think the core problem is generalization, models need far more data than humans."),
        ("U0000BO", "Right, a teenager learns to drive in ten hours while models need millions of examples."),
        ("U0000CY", "The emotions part surprised me, emotions act like a value function guiding decisions."),
        ("U0000ANA", "SSI wants to straight-shot superintelligence instead of shipping products on the way."),
        ("U0000BO", "thanks all, see you Thursday"),
    ]
    for user, text in said:
        bot.fake.add_message(channel, text, user=user, thread_ts=thread)
    await send_app_mention(bot.url, SECRET, "/recap", channel=channel, thread_ts=thread)
    post = await bot.fake.wait_for_call(
        "chat.postMessage",
        lambda c: in_thread(channel, thread)(c) and "Recap" in str(c.args.get("text")),
        timeout=TIMEOUT,
    )
    text = str(post.args["text"])
    assert text.startswith("Recap of this thread (5 messages") and "Open questions" in text
    assert "Passages the thread touched" in text and "<@" not in text and "<!" not in text
    points = [line[2:] for line in text.splitlines() if line.startswith("• ")]
    assert all(len(p.split()) <= 25 for p in points)  # points ≤ 20 words; passages ≤ 25 of the reading's


@e2e
async def test_recap_outside_a_thread_or_in_an_empty_one_is_one_private_line(bot: Bot) -> None:
    channel = new_channel()
    await send_slash_command(
        bot.url, SECRET, "/recap", "", channel_id=channel, response_url=bot.fake.new_response_url()
    )
    for _ in range(100):
        if any(m.get("text") == NOT_IN_THREAD for m in bot.fake.ephemeral_messages if m["channel"] == channel):
            break
        await asyncio.sleep(0.05)
    assert [m["text"] for m in bot.fake.ephemeral_messages if m["channel"] == channel] == [NOT_IN_THREAD]

    ref = await bot.app.outbox.send(Where(Channel("slack", channel)), prompt_post(load_questions()[1]))
    await send_app_mention(bot.url, SECRET, "/recap", channel=channel, thread_ts=ref.message_id)
    for _ in range(200):
        if any(m.get("text") == EMPTY for m in bot.fake.ephemeral_messages if m["channel"] == channel):
            break
        await asyncio.sleep(0.05)
    assert [m["text"] for m in bot.fake.ephemeral_messages if m["channel"] == channel] == [NOT_IN_THREAD, EMPTY]
    assert not [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("thread_ts") == ref.message_id]


@e2e
async def test_a_prompts_thread_is_recapped_the_day_after_once(bot: Bot) -> None:
    discussed, quiet_channel = new_channel(), new_channel()
    ref = await bot.app.outbox.send(Where(Channel("slack", discussed)), prompt_post(load_questions()[2]))
    await bot.app.outbox.send(Where(Channel("slack", quiet_channel)), prompt_post(load_questions()[3]))
    for user, text in (
        ("U0000ANA", "Emotions act like a value function, that was the most surprising idea for me."),
        ("U0000BO", "Agreed, the patient who couldn't decide anything without emotions made it concrete."),
    ):
        bot.fake.add_message(discussed, text, user=user, thread_ts=ref.message_id)
    threads = BotThreads(bot.app.db)
    handler = RecapHandler(bot.app.outbox, bot.app.knowledge)
    now = datetime.now(UTC)
    early = ScheduledRecaps(
        threads, bot.app.outbox, handler, ManualClock(now + timedelta(hours=23)), timedelta(hours=24)
    )
    await early.check()
    assert not [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == discussed][1:]
    day_after = ScheduledRecaps(
        threads, bot.app.outbox, handler, ManualClock(now + timedelta(hours=25)), timedelta(hours=24)
    )
    assert await day_after.check() >= 1
    posts = [c for c in bot.fake.calls_to("chat.postMessage") if in_thread(discussed, ref.message_id)(c)]
    assert len(posts) == 1 and str(posts[0].args["text"]).startswith("Recap of this thread (2 messages")
    assert not [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == quiet_channel][1:]
    assert await day_after.check() == 0  # once


@e2e
async def test_assistant_panel_greets_suggests_and_answers_with_a_status(bot: Bot) -> None:
    dm, thread = "D0000PANEL", new_ts()
    await send_assistant_thread_started(bot.url, SECRET, channel=dm, thread_ts=thread)
    greeting = await bot.fake.wait_for_call("chat.postMessage", in_thread(dm, thread), timeout=TIMEOUT)
    assert greeting.args["text"] == GREETING
    await bot.fake.wait_for_call("assistant.threads.setSuggestedPrompts", timeout=TIMEOUT)
    state = bot.fake.assistant_threads[(dm, thread)]
    bank = {q.question for q in load_questions()}
    assert 1 <= len(state["prompts"]) <= 4 and all(p["message"] in bank for p in state["prompts"])

    asked = state["prompts"][0]["message"]
    message = bot.fake.add_message(dm, asked, thread_ts=thread)
    await send_message_event(bot.url, SECRET, asked, channel=dm, channel_type="im", ts=message["ts"], thread_ts=thread)
    answers = await bot.fake.wait_for_calls("chat.postMessage", 2, in_thread(dm, thread), timeout=TIMEOUT)
    status = bot.fake.calls_to("assistant.threads.setStatus")[-1]
    title = bot.fake.calls_to("assistant.threads.setTitle")[-1]
    assert status.args["status"] == THINKING
    assert title.args["title"] == shorten(asked, TITLE_LIMIT)
    assert bot.fake.calls.index(status) < bot.fake.calls.index(answers[1])  # the status shows while answering
    assert answers[1].args["blocks"]  # the answer, with its section cited


def test_the_manifest_grants_what_readbot_uses() -> None:
    """deploy/slack-manifest.yaml against bot/adapters/slack/manifest.py: every scope and event the
    adapter relies on (the assistant panel, follow-ups in threads, thread history), the panel turned on."""
    from pathlib import Path

    import yaml

    from bot.adapters.slack.manifest import BOT_EVENTS, BOT_SCOPES, assistant_view

    path = Path(__file__).resolve().parents[1] / "deploy" / "slack-manifest.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == sorted(BOT_EVENTS)
    assert manifest["features"]["assistant_view"] == assistant_view()


@e2e
async def test_an_llm_answer_is_streamed_into_the_assistant_panel(bot: Bot) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from bot.knowledge.llm import LLMAnswerer

    written = (
        "Ilya says vibe coding loops: the model fixes one bug and brings back another. "
        "He takes it as a sign that the models generalise far worse than their evals suggest, "
        "and that something about how they learn is still missing. "
        "<!channel> @everyone should read that part <@U0000ANA|ana smith>."
    )
    llm = LLMAnswerer(FakeListChatModel(responses=[written]), timeout=10)
    knowledge = bot.app.knowledge
    original, knowledge.llm = knowledge.llm, llm
    try:
        dm, thread = "D0000STREAM", new_ts()
        message = bot.fake.add_message(dm, VIBE_QUESTION, thread_ts=thread)
        await send_message_event(
            bot.url, SECRET, VIBE_QUESTION, channel=dm, channel_type="im", ts=message["ts"], thread_ts=thread
        )
        stop = await bot.fake.wait_for_call("chat.stopStream", lambda c: c.args.get("channel") == dm, timeout=TIMEOUT)
    finally:
        knowledge.llm = original
        llm.close()
    start = bot.fake.calls_to("chat.startStream")[-1]
    assert start.args["thread_ts"] == thread and start.args["recipient_user_id"] == "U0000USER"
    appends = [c for c in bot.fake.calls_to("chat.appendStream") if c.args.get("channel") == dm]
    assert appends  # the text came in pieces, as the model wrote it
    shown = bot.fake.messages[(dm, str(stop.args["ts"]))]
    assert not shown["streaming"] and "fixes one bug and brings back another" in shown["text"]
    assert "<!channel>" not in shown["text"] and "<@" not in shown["text"]  # never a ping, even streamed
    assert "@\u200beveryone" in shown["text"] and "@\u200bchannel" in shown["text"]
    assert any(b["type"] == "context" for b in shown.get("blocks") or [])  # the section cited at the bottom
    labels = [e["text"]["text"] for b in shown.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]
    assert any("👍" in label for label in labels) and any("👎" in label for label in labels)  # feedback, streamed too
    assert not [c for c in bot.fake.calls_to("chat.postMessage") if in_thread(dm, thread)(c)]  # not posted twice


def test_streamed_text_is_sent_only_in_whole_words_and_never_inside_a_mention() -> None:
    from bot.adapters.slack.streaming import ready_part

    assert ready_part("hello wor") == len("hello ")
    assert ready_part("nothing") == 0
    assert ready_part("ask <@U1|ana smi") == len("ask ")  # the space inside <…> is no place to cut
    assert ready_part("ask <@U1|ana smith> now") == len("ask <@U1|ana smith> ")
