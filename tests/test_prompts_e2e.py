"""Daily discussion prompts end to end through the real clients.

Each test opens readbot as ``readbot run`` does (``open_app``: the readbot.toml named by
READBOT_CONFIG read, the database, the features, the adapter built from the kit, registered in
``app.outbox`` and started; then ``app.prompts.run()`` as a background task, started here by hand so
that the test knows when it sleeps), with the real slack-bolt / discord.py adapter in this event loop
against ``tests/fakes/slack_server`` / ``tests/fakes/discord_server``. Time is a
ManualClock moved by hand: nothing sleeps except short polls for the fake to record a call.

* a ``* * * * *`` schedule (Europe/Berlin) posts within a minute, once, in a thread-ready form: on
  Slack the post is the thread's parent (a header with the thread title), on Discord a public thread
  is started from the message; a question to readbot in that thread is answered in it;
* a restart in the same minute (a new app, adapter and scheduler on the same database) posts
  nothing for that slot, not even when the new process's view of the channel lags; the next minute
  posts the next, different question;
* ``/prompt now`` and ``/prompt schedule`` for moderators; anyone else is refused privately and
  nothing is posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import and_, select, update

from bot.adapters.discord import DiscordAdapter
from bot.adapters.slack.adapter import SlackAdapter
from bot.app import AdapterFactory, AdapterKit, App, open_app
from bot.clock import ManualClock
from bot.prompts.bank import Question, load_questions
from bot.prompts.render import HOW_TO_ASK, MAX_PASSAGE, shorten, thread_title
from bot.prompts.scheduler import PromptScheduler
from bot.prompts.service import BankState
from bot.settings import Settings
from bot.store.schema import prompt_channels, prompt_claims
from tests.fakes.assertions import assert_no_mass_mention, assert_pings_nobody
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, InteractionRef
from tests.fakes.discord_server import RecordedCall as DiscordCall
from tests.fakes.slack_server import DEFAULT_BOT_TOKEN, FakeSlackAPI, send_app_mention, send_slash_command
from tests.fakes.slack_server import RecordedCall as SlackCall

pytestmark = pytest.mark.asyncio

TZ = "Europe/Berlin"
# Tue 3 Nov 2026, 09:00:20 UTC = 10:00:20 CET (Berlin left summer time on 25 Oct)
START = datetime(2026, 11, 3, 9, 0, 20, tzinfo=UTC)
FIRST_SLOT = datetime(2026, 11, 3, 9, 1, tzinfo=UTC)  # 10:01 CET
# Thu 22 Oct 2026, 07:00 CEST: the next weekday 08:30 prompts straddle the end of summer time
COMMANDS_START = datetime(2026, 10, 22, 5, 0, tzinfo=UTC)
WEEKDAYS = "30 8 * * 1-5"
NEXT_THREE = "Thu 22 Oct 08:30 CEST, Fri 23 Oct 08:30 CEST, Mon 26 Oct 08:30 CET"
ASKED = "What does Ilya say about generalization?"
REFUSED_NOW = "Only moderators can post discussion prompts."
REFUSED_SCHEDULE = "Only moderators can see the prompt schedule."
WAIT = 10.0
UNTOUCHED = BankState(cycle=0, order=(), position=0)  # a channel the scheduler watches but took nothing for
QUESTIONS = {q.id: q for q in load_questions()}

SECRET = "readbot-prompts-signing-secret"
SLACK_CHANNEL, SLACK_COMMANDS = "C0PROMPTS1", "C0PROMPTS2"
MOD, MEMBER = "U0PMOD", "U0PMEMBER"
DISCORD_TOKEN = "MTIz.fake.token"


# ============================================================================ shared helpers


class StepClock(ManualClock):
    """A ManualClock that counts sleeps, so a test knows the scheduler loop went back to sleep."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        await super().sleep(seconds)


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def write_config(tmp_path: Path, *schedules: tuple[str, str, str]) -> Path:
    """readbot.toml with (platform, channel, cron) schedules in Berlin time."""
    path = tmp_path / "readbot.toml"
    path.write_text(
        "".join(
            f'[[schedule]]\nplatform = "{p}"\nchannel = "{c}"\ncron = "{cron}"\ntimezone = "{TZ}"\n\n'
            for p, c, cron in schedules
        ),
        encoding="utf-8",
    )
    return path


@dataclass
class Process:
    """One readbot process: the app, its adapter (in app.outbox) and, once started, the scheduler task."""

    app: App
    adapter: Any
    clock: StepClock
    task: asyncio.Task[None] | None = None
    stopped: bool = field(default=False)

    @property
    def scheduler(self) -> PromptScheduler:
        return self.app.prompts

    async def start_scheduler(self) -> None:
        """As the runner does; returns once the loop has looked at the schedules and gone to sleep."""
        self.task = asyncio.create_task(self.scheduler.run(), name="prompt-scheduler")
        await until(lambda: self.clock.sleeps >= 1 or self.task.done(), "the scheduler to sleep")  # type: ignore[union-attr]
        assert not self.task.done(), self.task
        await self.scheduler.drain()

    async def advance(self, **delta: float) -> None:
        """Move the clock past the loop's wake-up time; return once it has posted and sleeps again."""
        before = self.clock.sleeps
        self.clock.advance(**delta)
        await until(lambda: self.clock.sleeps > before, "the scheduler to look again")
        await self.scheduler.drain()

    async def stop_scheduler(self) -> None:
        """As the runner shuts down: the scheduler first (leaving ``open_app`` then stops the adapter,
        drains the features and closes the database; the session's knowledge service stays open)."""
        if self.stopped:
            return
        self.stopped = True
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@contextlib.asynccontextmanager
async def readbot(
    settings: Settings, knowledge: Any, clock: StepClock, make_adapter: AdapterFactory
) -> AsyncIterator[Process]:
    async with open_app(settings, adapters=[make_adapter], knowledge=knowledge, clock=clock, run_tasks=False) as app:
        assert app.prompts.clock is clock and app.tasks == ()
        (adapter,) = app.adapters
        process = Process(app, adapter, clock)
        try:
            yield process
        finally:
            await process.stop_scheduler()


async def claim_rows(app: App, platform: str, channel: str) -> list[dict[str, Any]]:
    async with app.db.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(prompt_claims)
                .where(and_(prompt_claims.c.platform == platform, prompt_claims.c.channel_id == channel))
                .order_by(prompt_claims.c.slot_utc)
            )
        ).all()
    return [dict(r._mapping) for r in rows]


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def set_watched_until(app: App, platform: str, channel: str, when: datetime) -> None:
    async with app.db.engine.begin() as conn:
        await conn.execute(
            update(prompt_channels)
            .where(and_(prompt_channels.c.platform == platform, prompt_channels.c.channel_id == channel))
            .values(watched_until=when)
        )


async def assert_lagging_replica_posts_nothing(process: Process, platform: str, channel: str) -> None:
    """A scheduler whose view of the channel lags behind the posted slot (its watched mark rolled back,
    as a replica with a slow clock would have it) finds the slot claimed: the claim row, not the
    in-memory cursor, keeps the slot from being posted twice."""
    now = process.clock.now()
    await set_watched_until(process.app, platform, channel, FIRST_SLOT - timedelta(seconds=10))
    lagging = PromptScheduler(
        process.scheduler.service, process.app.outbox, ManualClock(now), process.scheduler.plans, name="lagging replica"
    )
    assert await lagging.tick() == []


def prompt_lines(question: Question) -> list[str]:
    """What a prompt post says, line by line (the text readbot renders, before platform escaping)."""
    return [
        f"Discussion question: {question.question}",
        f"From “{question.section}”: “{shorten(question.passage, MAX_PASSAGE)}”",
        "",
        HOW_TO_ASK,
    ]


# ============================================================================ Slack


def slack_settings(tmp_path: Path, fake: FakeSlackAPI, config: Path) -> Settings:
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(tmp_path / "data"),
            "READBOT_CONFIG": str(config),
            "READBOT_MODERATORS": MOD,
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_POLL_SECRET": "test-poll-secret",
        },
        dotenv=None,
    )
    return dataclasses.replace(settings, http_port=0)  # a free port, picked when listening (not settable from env)


def slack_adapter(kit: AdapterKit) -> SlackAdapter:
    return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1")


def slack_url(process: Process) -> str:
    return f"http://127.0.0.1:{process.adapter.http_port}/slack/events"


async def slack_fake() -> FakeSlackAPI:
    fake = FakeSlackAPI()
    fake.add_user(MOD, "mona")
    fake.add_user(MEMBER, "max")
    await fake.start()
    return fake


def slack_posts(fake: FakeSlackAPI, channel: str) -> list[SlackCall]:
    """Top-level messages readbot posted in ``channel`` (prompts; answers go in threads)."""
    return [
        c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == channel and not c.args.get("thread_ts")
    ]


def slack_ephemerals(fake: FakeSlackAPI, user: str, channel: str) -> list[str]:
    return [
        c.args["text"]
        for c in fake.calls_to("chat.postEphemeral")
        if c.args.get("channel") == channel and c.args.get("user") == user
    ]


def assert_slack_prompt(post: SlackCall, question: Question) -> None:
    """A top-level post (so it is the thread parent) headed by the thread title, showing the question,
    its section and passage and how to ask readbot, that can't ping anyone."""
    assert post.status == 200 and post.response["ok"], post.response
    args = post.args
    assert not args.get("thread_ts") and not args.get("reply_broadcast")
    header, *sections = args["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": thread_title(question), "emoji": True}}
    assert [b["type"] for b in sections] == ["section"]
    shown = html.unescape(sections[0]["text"]["text"])
    assert shown.splitlines() == prompt_lines(question)
    assert html.unescape(args["text"]).splitlines() == [thread_title(question), *prompt_lines(question)]
    assert_no_mass_mention(args)


async def slack_command(
    process: Process, fake: FakeSlackAPI, text: str, user: str, channel: str = SLACK_COMMANDS
) -> str:
    """A /prompt from ``user``; returns the private (ephemeral) answer once every answer is sent."""
    before = len(slack_ephemerals(fake, user, channel))
    resp = await send_slash_command(
        slack_url(process),
        SECRET,
        "/prompt",
        text,
        user_id=user,
        channel_id=channel,
        response_url=fake.new_response_url(),
    )
    assert resp.status == 200 and resp.body == ""  # acknowledged at once, nothing shown by the ack
    await until(lambda: len(slack_ephemerals(fake, user, channel)) > before, f"the answer to /prompt {text}")
    await process.adapter.idle()
    answers = slack_ephemerals(fake, user, channel)
    assert len(answers) == before + 1, answers
    return html.unescape(answers[-1])


async def test_slack_every_minute_posts_within_a_minute_as_a_thread_parent_answered_in_that_thread(
    tmp_path: Path, knowledge_service: Any
) -> None:
    fake = await slack_fake()
    try:
        settings = slack_settings(tmp_path, fake, write_config(tmp_path, ("slack", SLACK_CHANNEL, "* * * * *")))
        async with readbot(settings, knowledge_service, StepClock(START), slack_adapter) as bot:
            await bot.start_scheduler()
            assert slack_posts(fake, SLACK_CHANNEL) == []  # 10:00 was before readbot looked: not posted

            await bot.advance(minutes=1)  # 10:01:20 CET: the 10:01 slot is due
            [post] = slack_posts(fake, SLACK_CHANNEL)
            [row] = await claim_rows(bot.app, "slack", SLACK_CHANNEL)
            question = QUESTIONS[row["question_id"]]
            assert_slack_prompt(post, question)
            post_ts = post.response["ts"]
            assert (utc(row["slot_utc"]), row["status"], row["message_id"], row["attempts"]) == (
                FIRST_SLOT,
                "posted",
                post_ts,
                1,
            )

            # a question to readbot inside the prompt's thread is answered in that thread
            resp = await send_app_mention(
                slack_url(bot), SECRET, ASKED, channel=SLACK_CHANNEL, user=MEMBER, thread_ts=post_ts
            )
            assert resp.status == 200
            answer = await fake.wait_for_call(
                "chat.postMessage",
                lambda c: c.args.get("channel") == SLACK_CHANNEL and c.args.get("thread_ts"),
                timeout=WAIT,
            )
            await bot.adapter.idle()
            assert answer.args["thread_ts"] == post_ts and answer.status == 200 and answer.response["ok"]
            assert answer.args["text"].strip() and answer.args["blocks"]
            assert_no_mass_mention(answer.args)
            assert slack_posts(fake, SLACK_CHANNEL) == [post]  # nothing else top level
            assert fake.calls_to("chat.postEphemeral") == []
    finally:
        await fake.stop()


async def test_slack_restart_in_the_same_minute_does_not_post_again_and_the_next_minute_posts_the_next_question(
    tmp_path: Path, knowledge_service: Any
) -> None:
    fake = await slack_fake()
    try:
        settings = slack_settings(tmp_path, fake, write_config(tmp_path, ("slack", SLACK_CHANNEL, "* * * * *")))
        async with readbot(settings, knowledge_service, StepClock(START), slack_adapter) as first:
            await first.start_scheduler()
            await first.advance(minutes=1)
            [post] = slack_posts(fake, SLACK_CHANNEL)
            stopped_at = first.clock.now()

        # a new process (new app, client and scheduler; the same data dir and database), 15 s later:
        # still the minute of the slot just posted
        restarted = StepClock(stopped_at + timedelta(seconds=15))
        assert restarted.now().replace(second=0) == FIRST_SLOT
        settings = slack_settings(tmp_path, fake, settings.config_path)  # its own free HTTP port
        async with readbot(settings, knowledge_service, restarted, slack_adapter) as second:
            await second.start_scheduler()
            assert slack_posts(fake, SLACK_CHANNEL) == [post]
            await assert_lagging_replica_posts_nothing(second, "slack", SLACK_CHANNEL)
            assert slack_posts(fake, SLACK_CHANNEL) == [post]
            [row] = await claim_rows(second.app, "slack", SLACK_CHANNEL)
            assert (row["status"], row["message_id"]) == ("posted", post.response["ts"])

            await second.advance(minutes=1)  # the 10:02 slot
            first_post, next_post = slack_posts(fake, SLACK_CHANNEL)
            assert first_post is post
            rows = await claim_rows(second.app, "slack", SLACK_CHANNEL)
            assert [(utc(r["slot_utc"]), r["status"], r["message_id"]) for r in rows] == [
                (FIRST_SLOT, "posted", post.response["ts"]),
                (FIRST_SLOT + timedelta(minutes=1), "posted", next_post.response["ts"]),
            ]
            assert rows[0]["question_id"] != rows[1]["question_id"]  # the next question, not the same again
            assert_slack_prompt(next_post, QUESTIONS[rows[1]["question_id"]])
            assert next_post.args["text"] != post.args["text"]
    finally:
        await fake.stop()


async def test_slack_prompt_now_and_schedule_for_moderators_and_a_private_refusal_for_others(
    tmp_path: Path, knowledge_service: Any
) -> None:
    fake = await slack_fake()
    try:
        settings = slack_settings(tmp_path, fake, write_config(tmp_path, ("slack", SLACK_COMMANDS, WEEKDAYS)))
        async with readbot(settings, knowledge_service, StepClock(COMMANDS_START), slack_adapter) as bot:
            await bot.start_scheduler()
            service = bot.scheduler.service

            assert await slack_command(bot, fake, "now", MEMBER) == REFUSED_NOW
            assert await slack_command(bot, fake, "schedule", MEMBER) == REFUSED_SCHEDULE
            assert fake.calls_to("chat.postMessage") == []  # nothing posted ...
            assert await service.state("slack", SLACK_COMMANDS) == UNTOUCHED  # ... and no question used up

            said = await slack_command(bot, fake, "schedule", MOD)
            assert said == f"Next prompts here ({TZ}): {NEXT_THREE}."
            assert fake.calls_to("chat.postMessage") == []

            said = await slack_command(bot, fake, "now", MOD)
            [post] = slack_posts(fake, SLACK_COMMANDS)
            state = await service.state("slack", SLACK_COMMANDS)
            assert state is not None and (state.cycle, state.position) == (1, 1)
            question = QUESTIONS[state.order[0]]
            assert_slack_prompt(post, question)
            assert said == f"Posted the next discussion question: “{shorten(question.question, 120)}”"
            assert fake.calls_to("chat.postMessage") == [post]
            assert await claim_rows(bot.app, "slack", SLACK_COMMANDS) == []  # no scheduled slot used
    finally:
        await fake.stop()


async def test_slack_prompt_now_that_cannot_be_posted_says_why_and_keeps_the_question(
    tmp_path: Path, knowledge_service: Any
) -> None:
    fake = await slack_fake()
    try:
        settings = slack_settings(tmp_path, fake, write_config(tmp_path, ("slack", SLACK_COMMANDS, WEEKDAYS)))
        async with readbot(settings, knowledge_service, StepClock(COMMANDS_START), slack_adapter) as bot:
            await bot.start_scheduler()
            service = bot.scheduler.service
            fake.fail("chat.postMessage", error="not_in_channel", times=10)
            said = await slack_command(bot, fake, "now", MOD)
            assert "invited" in said and "Sorry" not in said
            assert await service.state("slack", SLACK_COMMANDS) == UNTOUCHED  # the question stays next
    finally:
        await fake.stop()


# ============================================================================ Discord


@dataclass
class DiscordWorld:
    fake: FakeDiscord
    settings: Settings
    channel: int


@contextlib.asynccontextmanager
async def discord_world(tmp_path: Path, cron: str) -> AsyncIterator[DiscordWorld]:
    fake = FakeDiscord(DISCORD_TOKEN)
    channel = fake.add_text_channel("reading-prompts")
    await fake.start()
    try:
        config = write_config(tmp_path, ("discord", str(channel), cron))
        settings = Settings.from_env(
            {
                "READBOT_DATA_DIR": str(tmp_path / "data"),
                "READBOT_CONFIG": str(config),
                "DISCORD_TOKEN": DISCORD_TOKEN,
                "DISCORD_API_URL": fake.api_url,
                "DISCORD_GATEWAY_URL": fake.gateway_url,
                "READBOT_POLL_SECRET": "test-poll-secret",
            },
            dotenv=None,
        )
        yield DiscordWorld(fake, settings, channel)
    finally:
        await fake.stop()


def discord_adapter(kit: AdapterKit) -> DiscordAdapter:
    return DiscordAdapter(kit.settings, kit.dispatcher, commands=kit.commands, state=kit.state, guild_ready_timeout=0.1)


def path_is(method: str, pattern: str) -> Callable[[DiscordCall], bool]:
    return lambda c: c.method == method and re.fullmatch(pattern, c.path) is not None


def discord_posts(fake: FakeDiscord, channel: int) -> list[DiscordCall]:
    return [c for c in fake.calls if path_is("POST", f"/channels/{channel}/messages")(c)]


def thread_starts(fake: FakeDiscord) -> list[DiscordCall]:
    return [c for c in fake.calls if path_is("POST", r"/channels/\d+/(messages/\d+/)?threads")(c)]


def public_bot_messages(fake: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages_in(channel)
        if m["author"]["id"] == str(fake.bot_user_id) and not m["flags"] & EPHEMERAL
    ]


def assert_discord_prompt(fake: FakeDiscord, post: DiscordCall, channel: int, question: Question) -> int:
    """A channel message showing the question, its section and passage and how to ask readbot, and a
    public thread started from it, named after the question. Returns the thread's id."""
    assert post.status == 200, post.response
    body = post.json
    assert body["content"].splitlines() == prompt_lines(question)
    assert body["allowed_mentions"] == {"parse": []}
    assert not body.get("embeds") and not body.get("components") and not body.get("message_reference")
    message_id = post.response["id"]
    [start] = [c for c in thread_starts(fake) if c.path == f"/channels/{channel}/messages/{message_id}/threads"]
    assert start.status == 200 and start.json["name"] == thread_title(question)
    thread = fake.channels[int(message_id)]
    assert (thread["type"], thread["parent_id"], thread["name"]) == (11, str(channel), thread_title(question))
    message = fake.messages[int(message_id)]
    assert message["channel_id"] == str(channel) and message["thread"]["id"] == message_id
    assert message["mentions"] == [] and not message["mention_everyone"]
    assert_no_mass_mention(body)
    return int(message_id)


async def private_answer(fake: FakeDiscord, ref: InteractionRef) -> str:
    """The ephemeral answer to an interaction: the initial response, or the follow-up after a deferral."""
    callback = await fake.wait_for_interaction_response(ref, timeout=WAIT)
    assert callback.status in (200, 204), callback.response
    body = callback.json
    if body["type"] == 4:
        data = body["data"]
    else:
        assert body["type"] == 5, body
        followup = await fake.wait_for_call(
            path_is("POST", f"/webhooks/{fake.application_id}/{ref.token}"), timeout=WAIT
        )
        assert followup.status == 200, followup.response
        data = followup.json
    assert data["flags"] & EPHEMERAL, data
    return str(data["content"])


async def test_discord_every_minute_posts_within_a_minute_and_starts_a_public_thread_answered_there(
    tmp_path: Path, knowledge_service: Any
) -> None:
    async with (
        discord_world(tmp_path, "* * * * *") as world,
        readbot(world.settings, knowledge_service, StepClock(START), discord_adapter) as bot,
    ):
        fake, channel = world.fake, world.channel
        await bot.start_scheduler()
        assert discord_posts(fake, channel) == []

        await bot.advance(minutes=1)
        [post] = discord_posts(fake, channel)
        [row] = await claim_rows(bot.app, "discord", str(channel))
        question = QUESTIONS[row["question_id"]]
        thread_id = assert_discord_prompt(fake, post, channel, question)
        assert (utc(row["slot_utc"]), row["status"], row["message_id"]) == (FIRST_SLOT, "posted", str(thread_id))
        assert len(thread_starts(fake)) == 1

        # a question to readbot inside the prompt's thread is answered in that thread
        asked = await fake.send_message(thread_id, ASKED, author=fake.member_id, mentions_bot=True)
        answer = await fake.wait_for_message(
            thread_id, lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=WAIT
        )
        assert answer["message_reference"]["message_id"] == asked["id"]  # a reply to the question
        assert answer["content"].strip() or answer["embeds"]
        await until(lambda: not bot.adapter._inflight, "the answer to be finished")
        assert len(thread_starts(fake)) == 1  # no thread of its own: the prompt's thread is used
        assert discord_posts(fake, channel) == [post]
        assert [m["id"] for m in public_bot_messages(fake, channel)] == [str(thread_id)]
        assert_pings_nobody(fake)


async def test_discord_restart_in_the_same_minute_does_not_post_again_and_the_next_minute_posts_the_next_question(
    tmp_path: Path, knowledge_service: Any
) -> None:
    async with discord_world(tmp_path, "* * * * *") as world:
        fake, channel = world.fake, world.channel
        async with readbot(world.settings, knowledge_service, StepClock(START), discord_adapter) as first:
            await first.start_scheduler()
            await first.advance(minutes=1)
            [post] = discord_posts(fake, channel)
            stopped_at = first.clock.now()

        restarted = StepClock(stopped_at + timedelta(seconds=15))
        assert restarted.now().replace(second=0) == FIRST_SLOT
        async with readbot(world.settings, knowledge_service, restarted, discord_adapter) as second:
            await second.start_scheduler()
            assert discord_posts(fake, channel) == [post] and len(thread_starts(fake)) == 1
            await assert_lagging_replica_posts_nothing(second, "discord", str(channel))
            assert discord_posts(fake, channel) == [post] and len(thread_starts(fake)) == 1

            await second.advance(minutes=1)
            first_post, next_post = discord_posts(fake, channel)
            assert first_post is post
            rows = await claim_rows(second.app, "discord", str(channel))
            assert [(utc(r["slot_utc"]), r["status"], r["message_id"]) for r in rows] == [
                (FIRST_SLOT, "posted", post.response["id"]),
                (FIRST_SLOT + timedelta(minutes=1), "posted", next_post.response["id"]),
            ]
            assert rows[0]["question_id"] != rows[1]["question_id"]
            assert_discord_prompt(fake, next_post, channel, QUESTIONS[rows[1]["question_id"]])
            assert len(thread_starts(fake)) == 2
            assert next_post.json["content"] != post.json["content"]
        assert_pings_nobody(fake)


async def test_discord_prompt_now_and_schedule_for_moderators_and_a_private_refusal_for_others(
    tmp_path: Path, knowledge_service: Any
) -> None:
    async with (
        discord_world(tmp_path, WEEKDAYS) as world,
        readbot(world.settings, knowledge_service, StepClock(COMMANDS_START), discord_adapter) as bot,
    ):
        fake, channel = world.fake, world.channel
        await bot.start_scheduler()
        service = bot.scheduler.service

        async def prompt(text: str, user: int) -> str:
            ref = await fake.send_slash_command("prompt", {"text": text}, user=user, channel_id=channel)
            said = await private_answer(fake, ref)
            await until(lambda: not bot.adapter._inflight, f"/prompt {text} to be handled")
            return said

        assert await prompt("now", fake.member_id) == REFUSED_NOW
        assert await prompt("schedule", fake.member_id) == REFUSED_SCHEDULE
        assert discord_posts(fake, channel) == [] and thread_starts(fake) == []
        assert public_bot_messages(fake, channel) == []  # the public "thinking…" was removed too
        assert await service.state("discord", str(channel)) == UNTOUCHED  # no question used up

        assert await prompt("schedule", fake.moderator_id) == f"Next prompts here ({TZ}): {NEXT_THREE}."
        assert discord_posts(fake, channel) == []

        said = await prompt("now", fake.moderator_id)
        [post] = discord_posts(fake, channel)
        state = await service.state("discord", str(channel))
        assert state is not None and (state.cycle, state.position) == (1, 1)
        question = QUESTIONS[state.order[0]]
        thread_id = assert_discord_prompt(fake, post, channel, question)
        assert said == f"Posted the next discussion question: “{shorten(question.question, 120)}”"
        assert [m["id"] for m in public_bot_messages(fake, channel)] == [str(thread_id)]
        assert await claim_rows(bot.app, "discord", str(channel)) == []
        assert_pings_nobody(fake)
