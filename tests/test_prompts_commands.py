"""/prompt through the real app (open_app: the dispatcher, the outbox) and end to end:
the scheduler loop posting through a registered adapter on a hand-moved clock, a restart
in the same minute, and the console adapter."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.console import ConsoleAdapter
from bot.app import App, open_app
from bot.core.adapter import UnsupportedOperation
from bot.core.events import Channel, Command, MessageRef, Reply, User, Visibility, Where
from bot.settings import Settings
from tests.fakes.recording import RecordingAdapter
from tests.test_prompts_scheduler import StepClock, claim_rows, until

pytestmark = pytest.mark.asyncio
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
MOD = User("U-MOD", "Moderator")
MEMBER = User("U-MEMBER", "Member")
ADMIN = User("U-ADMIN", "Workspace admin", is_admin=True)
BERLIN_WEEKDAYS = """
[[schedule]]
platform = "slack"
channel = "C1"
cron = "0 9 * * 1-5"
timezone = "Europe/Berlin"

[[schedule]]
platform = "discord"
channel = "112233445566778899"
cron = "0 9 * * *"
timezone = "Europe/Berlin"
"""
EVERY_MINUTE = '[[schedule]]\nplatform = "slack"\nchannel = "C1"\ncron = "* * * * *"\ntimezone = "UTC"\n'


class Responder:
    def __init__(self) -> None:
        self.replies: list[Reply] = []

    async def reply(self, reply: Reply) -> MessageRef | None:
        self.replies.append(reply)
        return MessageRef(Where(Channel("slack", "C1")), f"r{len(self.replies)}")

    async def acknowledge(self, *, private: bool = False) -> None: ...

    async def open_form(self, form: object) -> None:
        raise UnsupportedOperation("test", "forms")


KNOWLEDGE: list[Any] = []
STACKS: dict[int, contextlib.AsyncExitStack] = {}


@pytest.fixture(autouse=True)
def _shared_knowledge(knowledge_service: Any) -> None:
    """The session's real knowledge service (indexed once), handed to every app opened here."""
    KNOWLEDGE[:] = [knowledge_service]


async def opened(tmp_path: Path, clock: StepClock, config: str, adapter: Any, **env: str) -> App:
    """The app as `readbot run` opens it (open_app), with ``adapter`` (or what a factory builds) as its
    platform; the background tasks are the test's to run. Close it with :func:`close`."""
    path = tmp_path / "readbot.toml"
    path.write_text(config, encoding="utf-8")
    settings = Settings.from_env(
        {"READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_CONFIG": str(path), "READBOT_MODERATORS": MOD.id, **env},
        dotenv=None,
    )
    factory = adapter if callable(adapter) else (lambda kit: adapter)
    stack = contextlib.AsyncExitStack()
    app = await stack.enter_async_context(
        open_app(settings, adapters=[factory], knowledge=KNOWLEDGE[0], clock=clock, run_tasks=False)
    )
    STACKS[id(app)] = stack
    return app


async def close(app: App) -> None:
    await STACKS.pop(id(app)).aclose()


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Chat:
    """Slash commands in one channel, as the platform adapter would hand them over."""

    def __init__(self, core: App, channel: str = "C1") -> None:
        self.core = core
        self.where = Where(Channel("slack", channel))
        self.count = 0

    async def __call__(self, text: str, user: User = MOD) -> Reply:
        self.count += 1
        responder = Responder()
        await self.core.dispatcher.dispatch(Command(f"e{self.count}", self.where, user, "prompt", text), responder)
        assert len(responder.replies) == 1, responder.replies
        return responder.replies[0]


# ------------------------------------------------------------------ end to end


async def test_every_minute_schedule_posts_within_a_minute_and_a_restart_in_that_minute_does_not_repost(
    tmp_path: Path,
) -> None:
    clock = StepClock(MONDAY.replace(hour=8, second=30))
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, clock, EVERY_MINUTE, adapter)
    assert core.prompts is not None and "prompt" in core.dispatcher.command_names
    loop = asyncio.create_task(core.prompts.run())
    try:
        await until(lambda: len(clock.sleeps) == 1, "the scheduler to sleep")
        assert adapter.sent == [] and clock.sleeps[0] == 30.0  # until 08:01:00
        clock.advance(seconds=60)
        await until(lambda: len(adapter.sent) == 1, "the prompt")
        where, reply = adapter.sent[0]
        assert (where.channel.platform, where.channel.id, where.thread_id) == ("slack", "C1", None)
        assert reply.start_thread and reply.thread_title and reply.visibility is Visibility.PUBLIC
        assert "Mention @readbot in this thread" in reply.text
    finally:
        await stop(loop)
        await close(core)

    # a new process on the same database, in the same minute (08:01:45)
    clock = StepClock(MONDAY.replace(hour=8, minute=1, second=45))
    again = RecordingAdapter("slack")
    core = await opened(tmp_path, clock, EVERY_MINUTE, again)
    assert core.prompts is not None
    loop = asyncio.create_task(core.prompts.run())
    try:
        await until(lambda: len(clock.sleeps) == 1, "the scheduler to sleep")  # start-up done: nothing
        assert again.sent == [] and clock.sleeps[0] == 15.0  # 08:01 was posted already; next: 08:02
        clock.advance(seconds=20)  # 08:02:05: the next minute is posted by the new process, once
        await until(lambda: len(again.sent) == 1, "the next prompt")
        await asyncio.sleep(0.1)
        assert len(again.sent) == 1 and len(adapter.sent) == 1
        assert again.sent[0][1].text != adapter.sent[0][1].text
        assert core.db is not None
        assert [r["status"] for r in await claim_rows(core.db)] == ["posted", "posted"]
    finally:
        await stop(loop)
        await close(core)


async def test_core_skips_schedules_of_platforms_it_does_not_run_and_reads_the_grace_setting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "bot.prompts")
    clock = StepClock(MONDAY.replace(hour=7, minute=59))
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, clock, BERLIN_WEEKDAYS, adapter, READBOT_PROMPT_GRACE_MINUTES="45")
    try:
        assert core.prompts is not None and core.prompts.grace == timedelta(minutes=45)
        await core.prompts.tick()
        clock.advance(minutes=1)
        await core.prompts.tick()
        assert [w.channel.platform for w, _ in adapter.sent] == ["slack"]
        skipped = [r.getMessage() for r in caplog.records if "does not run" in r.getMessage()]
        assert skipped == ["prompt schedule #2 (discord 112233445566778899) skipped: this process does not run discord"]
    finally:
        await close(core)


# ------------------------------------------------------------------ moderator commands


async def test_members_get_a_private_refusal_for_every_subcommand(tmp_path: Path) -> None:
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, StepClock(MONDAY), BERLIN_WEEKDAYS, adapter)
    try:
        chat = Chat(core)
        for text in ("now", "skip", "pause", "resume", "add Why would anyone disagree?", "schedule"):
            reply = await chat(text, MEMBER)
            assert reply.visibility is Visibility.PRIVATE and reply.text.startswith("Only moderators can "), text
        assert adapter.sent == [] and not await core.prompts.service.paused("slack", "C1")  # type: ignore[union-attr]
        assert "/prompt now" in (await chat("", MEMBER)).text  # help is for everyone
        assert (await chat("schedule", ADMIN)).text.startswith("Next prompts")  # platform moderators may
    finally:
        await close(core)


async def test_schedule_skip_pause_resume_and_now(tmp_path: Path) -> None:
    clock = StepClock(MONDAY.replace(hour=7))  # Monday 08:00 in Berlin
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, clock, BERLIN_WEEKDAYS, adapter)
    assert core.prompts is not None
    scheduler = core.prompts
    try:
        chat = Chat(core)
        await scheduler.tick()
        reply = await chat("schedule")
        assert reply.visibility is Visibility.PRIVATE
        assert reply.text == (
            "Next prompts here (Europe/Berlin): Mon 2 Mar 09:00 CET, Tue 3 Mar 09:00 CET, Wed 4 Mar 09:00 CET."
        )

        reply = await chat("skip")
        assert reply.text == "Skipped the prompt of Mon 2 Mar 09:00 CET. The next one is Tue 3 Mar 09:00 CET."
        assert (await chat("schedule")).text.endswith("Tue 3 Mar 09:00 CET, Wed 4 Mar 09:00 CET, Thu 5 Mar 09:00 CET.")
        clock.set(MONDAY.replace(hour=8))
        assert await scheduler.tick() == [] and adapter.sent == []  # Monday's was skipped

        assert (await chat("pause")).text.startswith("Paused")
        assert "already paused" in (await chat("pause")).text
        assert (await chat("schedule")).text.startswith("Paused (nothing is posted until /prompt resume)")
        clock.set(MONDAY.replace(hour=8) + timedelta(days=1))
        assert await scheduler.tick() == [] and adapter.sent == []  # Tuesday's: paused

        reply = await chat("resume")
        assert reply.text == ("Resumed: scheduled prompts are posted here again. The next one is Wed 4 Mar 09:00 CET.")
        assert "not paused" in (await chat("resume")).text
        clock.set(MONDAY.replace(hour=8) + timedelta(days=2))
        assert [o.status for o in await scheduler.tick()] == ["posted"]  # Wednesday's

        reply = await chat("now")
        assert reply.visibility is Visibility.PRIVATE and reply.text.startswith("Posted the next discussion question")
        assert len(adapter.sent) == 2
        where, post = adapter.sent[1]
        assert where.channel.id == "C1" and where.thread_id is None and post.start_thread
        assert post.text != adapter.sent[0][1].text  # the next question, not Wednesday's again
        assert core.db is not None
        assert [r["status"] for r in await claim_rows(core.db)] == ["skipped", "paused", "posted"]
    finally:
        await close(core)


async def test_a_channel_without_a_schedule(tmp_path: Path) -> None:
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, StepClock(MONDAY), BERLIN_WEEKDAYS, adapter)
    try:
        chat = Chat(core, channel="C-OTHER")
        assert "no schedule" in (await chat("schedule")).text
        assert "no schedule" in (await chat("skip")).text
        assert (await chat("now")).text.startswith("Posted")  # /prompt now works anywhere
        assert adapter.sent[0][0].channel.id == "C-OTHER"
        assert "I don't know /prompt frobnicate" in (await chat("frobnicate")).text
    finally:
        await close(core)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("add", "Give the question to add"),
        ("add    ", "Give the question to add"),
        ("add " + "Why " * 80 + "?", "keep it to 280"),
        ("add What do you think about the age of scaling", "End the question with a question mark"),
        ("add Is it over? @everyone", "can't mention"),
        ("add ??", "too short"),
    ],
)
async def test_add_validates_the_question(tmp_path: Path, text: str, error: str) -> None:
    core = await opened(tmp_path, StepClock(MONDAY), BERLIN_WEEKDAYS, RecordingAdapter("slack"))
    try:
        reply = await Chat(core)(text)
        assert reply.visibility is Visibility.PRIVATE and error in reply.text
        assert await core.prompts.service.custom_questions("slack", "C1") == []  # type: ignore[union-attr]
    finally:
        await close(core)


async def test_added_questions_join_this_channels_bank_and_duplicates_are_refused(tmp_path: Path) -> None:
    clock = StepClock(MONDAY)
    core = await opened(tmp_path, clock, BERLIN_WEEKDAYS, RecordingAdapter("slack"))
    assert core.prompts is not None
    service = core.prompts.service
    try:
        chat = Chat(core)
        first = await service.take_next("slack", "C1", now=clock.now())  # the channel is mid-cycle
        reply = await chat("add Which idea from this week's reading would you test first, and how?")
        assert reply.text.startswith("Added: ") and "it is the next question posted here" in reply.text
        assert (
            "already in this channel's bank"
            in (await chat("add   which idea from THIS week's reading would you test first, and how?")).text
        )
        shipped = service.shipped[0].question
        assert "already in this channel's bank" in (await chat(f"add {shipped}")).text
        [custom] = await service.custom_questions("slack", "C1")
        assert await service.custom_questions("slack", "C2") == []  # only this channel's bank

        size = len(service.shipped) + 1
        rest = [(await service.take_next("slack", "C1", now=clock.now())).id for _ in range(size - 1)]
        assert custom.id in rest and first.id not in rest  # it came up in this cycle, nothing repeated
        assert sorted([first.id, *rest]) == sorted([*(q.id for q in service.shipped), custom.id])
        post = (await core.prompts.post_now(Channel("slack", "C1")))[0]  # a new cycle: still in the bank
        assert post.id in {q.id for q in service.shipped} | {custom.id}
    finally:
        await close(core)


async def test_a_custom_question_posts_without_a_section(tmp_path: Path) -> None:
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, StepClock(MONDAY), BERLIN_WEEKDAYS, adapter)
    assert core.prompts is not None
    try:
        chat = Chat(core, channel="C-NEW")
        await chat("add What would change your mind about scaling?")
        service = core.prompts.service
        service.shipped = service.shipped[:1]  # a tiny bank: the custom question comes up quickly
        for _ in range(2):
            await chat("now")
        texts = [r.text for _, r in adapter.sent]
        custom = next(t for t in texts if "What would change your mind about scaling?" in t)
        assert "Added by this channel's moderators." in custom and "Mention @readbot" in custom
    finally:
        await close(core)


# ------------------------------------------------------------------ the console adapter


async def test_console_chat_prompts(tmp_path: Path) -> None:
    clock = StepClock(MONDAY.replace(hour=8, second=10))
    out = io.StringIO()
    config = (
        '[[schedule]]\nplatform = "console"\nchannel = "reading-group"\ncron = "*/5 * * * *"\n'
        'timezone = "Europe/Berlin"\n'
    )
    you = User("console-user", "you", is_admin=True)
    core = await opened(tmp_path, clock, config, lambda kit: ConsoleAdapter(kit.dispatcher, out, user=you))
    (adapter,) = core.adapters
    assert isinstance(adapter, ConsoleAdapter)
    loop = asyncio.create_task(core.prompts.run())
    try:
        await adapter.handle_line("/prompt schedule")
        assert "Next prompts here (Europe/Berlin): Mon 2 Mar 09:05 CET, Mon 2 Mar 09:10 CET" in out.getvalue()
        await adapter.handle_line("/prompt now")
        assert out.getvalue().count("Discussion question:") == 1
        await until(lambda: len(clock.sleeps) >= 1, "the scheduler to sleep")
        clock.advance(minutes=5)
        await until(lambda: out.getvalue().count("Discussion question:") == 2, "the scheduled prompt")
        assert len(adapter.posted) == 4 and adapter.posted[-1][1].start_thread  # 2 private answers, 2 prompts
    finally:
        await stop(loop)
        await close(core)


# ------------------------------------------------------------------ the queue: /prompt list, /prompt add next


async def test_prompt_list_shows_the_next_five_and_added_questions_come_first_in_the_order_added(
    tmp_path: Path,
) -> None:
    adapter = RecordingAdapter("slack")
    core = await opened(tmp_path, StepClock(MONDAY), BERLIN_WEEKDAYS, adapter)
    assert core.prompts is not None
    service = core.prompts.service
    try:
        chat = Chat(core)
        before = [q for _, q in await service.peek("slack", "C1", 5)]
        listing = (await chat("list")).text
        assert listing.startswith("The next 5 questions here")
        numbered = [line for line in listing.splitlines() if line[:2] in {f"{i}." for i in range(1, 6)}]
        assert len(numbered) == 5
        assert "Mon 2 Mar 09:00 CET" in numbered[0] and "Fri 6 Mar 09:00 CET" in numbered[4]  # weekdays, Berlin
        for line, question in zip(numbered, before, strict=True):
            assert question.question[:60] in line

        plain = "Which claim of the reading would you defend against its author?"
        reply = (await chat(f"add {plain}")).text
        assert "it is the next question posted here, on Mon 2 Mar 09:00 CET" in reply
        second = "What would you ask the speaker if you had one minute?"
        assert "it is posted after 1 other question, on Tue 3 Mar 09:00 CET" in (await chat(f"add {second}")).text
        urgent = "Which part of the reading surprised you the most, and why?"
        assert "it is the next question posted here" in (await chat(f"add next {urgent}")).text

        queue = [q.question for _, q in await service.peek("slack", "C1", 5)]
        assert queue[:3] == [urgent, plain, second]  # "next" first, then the others in the order added
        assert queue[3:] == [q.question for q in before[:2]]  # the bank's own order goes on after them
        listing = (await chat("list")).text
        assert urgent in listing.splitlines()[1] and "[added by a moderator]" in listing.splitlines()[1]

        posted, _ = await core.prompts.post_now(Channel("slack", "C1"))  # what /prompt now and the schedule take
        assert posted.question == urgent
        assert [q.question for _, q in await service.peek("slack", "C1", 2)] == [plain, second]
    finally:
        await close(core)


async def test_prompt_add_next_refuses_a_mention_a_long_question_and_a_member_changing_nothing(tmp_path: Path) -> None:
    core = await opened(tmp_path, StepClock(MONDAY), BERLIN_WEEKDAYS, RecordingAdapter("slack"))
    assert core.prompts is not None
    service = core.prompts.service
    try:
        chat = Chat(core)
        before = await service.peek("slack", "C1", 5)
        cases = [
            ("add next <@U123> what do you think of the ending?", MOD, "can't mention people"),
            ("add next @everyone what do you think of the ending?", MOD, "can't mention people"),
            ("add next " + "Why " * 80 + "?", MOD, "keep it to 280"),
            ("add next", MOD, "Give the question to post first"),
            ("add next Which part of the reading surprised you the most?", MEMBER, "Only moderators"),
            ("list", MEMBER, "Only moderators"),
            ("list extra", MOD, "takes nothing after it"),
        ]
        for text, user, error in cases:
            reply = await chat(text, user)
            assert reply.visibility is Visibility.PRIVATE and error in reply.text, (text, reply.text)
            assert "\n" not in reply.text  # one clear line
        assert await service.custom_questions("slack", "C1") == []
        assert await service.peek("slack", "C1", 5) == before  # nothing changed
    finally:
        await close(core)
