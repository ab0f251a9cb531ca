"""The Slack adapter: unit tests of translation and rendering, then end to end.

End to end, readbot runs for real against ``tests/fakes/slack_server.FakeSlackAPI``:

* ``inprocess``: ``open_app(settings, adapters=[...])`` building a ``SlackAdapter`` from the kit
  in this event loop (the dispatcher wrapped in a recorder, to see what reached it; the
  knowledge service is the session's, so the reading is indexed once per test run);
* ``subprocess``: ``python -m bot.cli run --platform slack`` with the settings in its
  environment (a missing ``run`` command fails the tests, it doesn't skip them).

Each scenario runs against both, one bot per kind for the whole module (loading the
model and indexing the reading takes seconds). Scenarios use their own channel ids so
they never see each other's Web API calls; waits are ``wait_for_call`` with timeouts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web

from bot.adapters.slack.adapter import SlackAdapter, reply_where
from bot.adapters.slack.render import (
    BUTTON_VALUE_LIMIT,
    MAX_BLOCKS,
    SECTION_LIMIT,
    TRUNCATED,
    escape,
    render,
)
from bot.adapters.slack.retries import RetryFilter, retry_num
from bot.adapters.slack.translate import (
    action_of,
    click_from_payload,
    command_from_payload,
    message_from_dm,
    message_from_mention,
)
from bot.app import AdapterKit, open_app
from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.dispatcher import Dispatcher
from bot.core.events import (
    Button,
    ButtonClick,
    Channel,
    Citation,
    Command,
    Event,
    Message,
    Reply,
    User,
    Visibility,
    Where,
)
from bot.errors import ConfigError
from bot.settings import Settings
from tests.fakes.slack_server import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_TOKEN,
    DEFAULT_USER_ID,
    FakeSlackAPI,
    RecordedCall,
    Tamper,
    event_envelope,
    new_event_id,
    new_ts,
    send_app_mention,
    send_block_action,
    send_event,
    send_message_event,
    send_slash_command,
    serve_on_loopback,
)

SECRET = "readbot-test-signing-secret"
TOKEN = DEFAULT_BOT_TOKEN  # "xoxb-..."; the fake accepts only this one
VIBE_QUESTION = "What does Ilya say about vibe coding?"
VIBE_SECTION = "The disconnect between model capability and real-world performance"
ANSWER_TIMEOUT = 60.0  # generous: a first question may wait for the model/index to load
QUIET_WINDOW = 0.3  # negative checks: how long "nothing else happens" is watched
OTHER_BOT_ID, OTHER_BOT_USER = "B0OTHERBOT", "U0OTHERBOT"
MASS = re.compile(r"<!(channel|here|everyone)|@(?!\u200b)(everyone|here|channel)\b", re.IGNORECASE)

e2e = pytest.mark.asyncio(loop_scope="module")


def new_channel(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:9].upper()}"


def in_channel(channel: str) -> Callable[[RecordedCall], bool]:
    return lambda call: call.args.get("channel") == channel


def posted_text(call: RecordedCall) -> str:
    """Everything a call would show: text and blocks."""
    return json.dumps({k: call.args.get(k) for k in ("text", "blocks")}, ensure_ascii=False)


# ============================================================================ translate


def test_app_mention_becomes_message_in_its_thread() -> None:
    body = event_envelope(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "10.000100",
            "thread_ts": "9.000100",
            "text": "<@UBOT> is it &lt;fast&gt; &amp; <https://x.org|cheap>? <#C2|books>",
        },
        event_id="Ev1",
    )
    message = message_from_mention(body, "UBOT")
    assert message == Message(
        event_id="Ev1",
        where=Where(Channel("slack", "C1"), thread_id="9.000100"),
        user=User("U1"),
        text="is it <fast> & cheap? #books",
        message_id="10.000100",
    )
    top = event_envelope(
        {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "11.1", "text": "<@UBOT|readbot> hello <@UBOT>"}
    )
    message = message_from_mention(top, "UBOT")
    assert message.text == "hello" and message.where.thread_id is None
    # top-level: answer in a new thread on the question; inside a thread: that thread; DM: top level
    assert reply_where(message, direct=False) == Where(Channel("slack", "C1"), thread_id="11.1")
    assert reply_where(message, direct=True) == Where(Channel("slack", "C1"))


def test_bot_authors_are_marked_as_bots() -> None:
    def mention(**fields: Any) -> Message:
        return message_from_mention(
            event_envelope({"type": "app_mention", "channel": "C1", "ts": "1.1", "text": "<@UBOT> hi", **fields}),
            "UBOT",
        )

    assert not mention(user="U1").user.is_bot
    assert mention(user=OTHER_BOT_USER, bot_id=OTHER_BOT_ID).user.is_bot
    assert mention(user="UBOT").user.is_bot  # readbot itself
    dm = {"type": "message", "channel": "D1", "channel_type": "im", "ts": "1.2", "text": "hi"}
    assert message_from_dm(event_envelope({**dm, "user": "U1"}), "UBOT").user == User("U1")
    bot_post = message_from_dm(event_envelope({**dm, "bot_id": OTHER_BOT_ID, "subtype": "bot_message"}), "UBOT")
    assert bot_post is not None and bot_post.user.is_bot
    # channel chatter (answered through app_mention), edits and joins are not messages to readbot
    assert message_from_dm(event_envelope({**dm, "user": "U1", "channel_type": "channel"}), "UBOT") is None
    assert message_from_dm(event_envelope({**dm, "user": "U1", "subtype": "message_changed"}), "UBOT") is None


def test_slash_command_becomes_command() -> None:
    command = command_from_payload(
        {
            "command": "/Ask",
            "text": " why &amp; how? ",
            "user_id": "U1",
            "user_name": "ann",
            "channel_id": "C1",
            "channel_name": "general",
            "trigger_id": "123.456",
        }
    )
    assert command == Command(
        event_id="123.456",
        where=Where(Channel("slack", "C1", "general")),
        user=User("U1", "ann"),
        name="ask",
        text="why & how?",
    )


def test_block_action_becomes_button_click() -> None:
    payload = {
        "type": "block_actions",
        "trigger_id": "7.7",
        "user": {"id": "U1", "username": "ann"},
        "channel": {"id": "C1", "name": "general"},
        "container": {"type": "message", "message_ts": "5.5", "channel_id": "C1"},
        "message": {"ts": "5.5", "thread_ts": "4.4"},
        "actions": [{"action_id": "poll:vote#2", "value": "p1:2", "action_ts": "8.8"}],
    }
    click = click_from_payload(payload)
    where = Where(Channel("slack", "C1", "general"), thread_id="4.4")
    assert click is not None
    assert (click.event_id, click.where, click.user, click.action, click.value) == (
        "7.7",
        where,
        User("U1", "ann"),
        "poll:vote",
        "p1:2",
    )
    assert click.message is not None and click.message.message_id == "5.5"
    assert click_from_payload({**payload, "actions": []}) is None


def test_retry_filter_drops_only_retries_of_handled_events() -> None:
    assert retry_num({}) is None
    assert retry_num({"x-slack-retry-num": ["2"]}) == 2 and retry_num({"x-slack-retry-num": "1"}) == 1
    retries = RetryFilter()
    assert not retries.is_repeat("Ev0", {"x-slack-retry-num": ["0"]})  # Socket Mode's first delivery
    assert not retries.is_repeat("Ev0", {"x-slack-retry-num": ["0"]})
    assert not retries.is_repeat("Ev1", {})
    assert retries.is_repeat("Ev1", {"x-slack-retry-num": ["1"]})
    assert not retries.is_repeat("Ev2", {"x-slack-retry-num": ["1"]})  # first seen as a retry: handled
    assert not retries.is_repeat("Ev1", {})  # a plain duplicate is the dispatcher's business


# ============================================================================ render


def all_text(message: Any) -> str:
    return json.dumps({"text": message.text, "blocks": message.blocks}, ensure_ascii=False)


def test_render_escapes_slack_markup() -> None:
    message = render(Reply("a < b && c > d <https://evil.example|click> <#C1>"))
    section = message.blocks[0]["text"]["text"]
    assert section == "a &lt; b &amp;&amp; c &gt; d &lt;https://evil.example|click&gt; &lt;#C1&gt;"
    assert message.text == section  # the plain-text fallback is escaped too
    assert "<" not in all_text(message) and ">" not in all_text(message)
    assert escape("&lt;") == "&amp;lt;"  # plain text: an entity-looking string stays literal


@pytest.mark.parametrize(
    "text",
    [
        "<!channel> look",
        "<!here|here> now",
        "<!everyone>",
        "hey @everyone and @here and @channel",
        "<@U0VICTIM> and <@W0VICTIM|victim>",
        "<!subteam^S0TEAM|@readers>",
        "&lt;!channel&gt;",
        "<!CHANNEL>",
        "@\u200beveryone already safe",
    ],
)
def test_render_never_emits_a_mass_or_user_mention(text: str) -> None:
    reply = Reply(
        text,
        citations=(Citation(text, text, "r"),),
        buttons=(Button(text, "x", "1"),),
        start_thread=True,
        thread_title=text,
    )
    rendered = all_text(render(reply))
    assert not MASS.search(rendered), rendered
    assert "<@" not in rendered and "<!" not in rendered


def test_long_text_is_split_into_sections_of_at_most_3000() -> None:
    sentence = "Ilya says models generalize worse than people & that matters. "
    text = sentence * 200  # ~12,600 characters
    message = render(Reply(text))
    sections = [b["text"]["text"] for b in message.blocks]
    assert len(sections) >= 5 and all(len(s) <= SECTION_LIMIT for s in sections)
    assert all(s.endswith("matters.") for s in sections)  # cut at sentence ends
    assert " ".join(sections) == escape(text).strip()  # nothing lost, escaped once
    assert len(message.text) <= SECTION_LIMIT  # the notification fallback is bounded


def test_at_most_50_blocks() -> None:
    paragraph = ("word " * 590).strip() + ".\n"
    message = render(
        Reply(paragraph * 80, citations=(Citation("s", "d", "r"),), buttons=(Button("Yes", "poll:vote", "1"),))
    )
    assert len(message.blocks) == MAX_BLOCKS
    assert [b["type"] for b in message.blocks[-2:]] == ["context", "actions"]
    last_section = message.blocks[-3]["text"]["text"]
    assert last_section.endswith(TRUNCATED) and len(last_section) <= SECTION_LIMIT


def test_citations_render_as_a_context_block() -> None:
    message = render(Reply("From the reading.", citations=(Citation(VIBE_SECTION, "dwarkesh-107", "r"),)))
    assert message.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"Source: “{VIBE_SECTION}” (dwarkesh-107)"}],
    }
    assert message.text == "From the reading."


def test_buttons_render_as_an_actions_block() -> None:
    buttons = (
        Button("Yes <b>", "poll:vote", "p1:0", "primary"),
        Button("No", "poll:vote", "p1:1"),
        Button("Close", "poll:close", "p1", "danger"),
    )
    message = render(Reply("Vote?", buttons=buttons))
    actions = message.blocks[-1]
    assert actions["type"] == "actions"
    elements = actions["elements"]
    assert [e["value"] for e in elements] == ["p1:0", "p1:1", "p1"]
    assert [e.get("style") for e in elements] == ["primary", None, "danger"]
    assert elements[0]["text"] == {"type": "plain_text", "text": "Yes <b>", "emoji": True}
    ids = [e["action_id"] for e in elements]
    assert len(set(ids)) == 3 and [action_of(i) for i in ids] == ["poll:vote", "poll:vote", "poll:close"]
    assert render(Reply("", buttons=buttons[2:])).text == "Close"  # a fallback text even with no text
    with pytest.raises(ValueError, match="2000"):
        render(Reply("x", buttons=(Button("b", "a", "v" * (BUTTON_VALUE_LIMIT + 1)),)))


# ============================================================================ end to end


class RecordingDispatcher:
    """Wraps the real dispatcher; remembers what reached it and what it decided."""

    def __init__(self, inner: Dispatcher) -> None:
        self.inner = inner
        self.handled: list[tuple[Event, bool]] = []

    async def dispatch(self, event: Event, responder: Responder) -> bool:
        result = await self.inner.dispatch(event, responder)
        self.handled.append((event, result))
        return result

    def events(self, predicate: Callable[[Event], bool]) -> list[tuple[Event, bool]]:
        return [(e, r) for e, r in self.handled if predicate(e)]


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class RunningBot:
    kind: str
    fake: FakeSlackAPI
    base_url: str
    spy: RecordingDispatcher | None = None  # in-process only
    adapter: SlackAdapter | None = None  # in-process only
    log_text: Callable[[], str] = lambda: ""
    records: list[logging.LogRecord] = field(default_factory=list)  # in-process only

    @property
    def url(self) -> str:
        return f"{self.base_url}/slack/events"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(cli_env: dict[str, str], data_dir: Path, api_url: str, port: int) -> dict[str, str]:
    return {
        **cli_env,
        "READBOT_DATA_DIR": str(data_dir),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "READBOT_HTTP_PORT": str(port),
        "READBOT_LOG_LEVEL": "INFO",
    }


RUN_COMMAND = [sys.executable, "-m", "bot.cli", "run", "--platform", "slack"]


def test_python_m_bot_cli_runs_the_cli_and_offers_run_with_a_platform(cli_env: dict[str, str], tmp_path: Path) -> None:
    """``python -m bot.cli`` is the CLI (bot/cli.py has its ``__main__`` guard: without it the module
    runs nothing and exits 0 with no output), and it has ``run --platform slack``."""
    usage = subprocess.run(
        [*RUN_COMMAND[:3], "--help"], capture_output=True, text=True, env=cli_env, cwd=tmp_path, timeout=60, check=False
    )
    assert usage.returncode == 0 and usage.stdout.strip(), (usage.returncode, usage.stdout, usage.stderr)
    commands = re.search(r"\{([a-z,]+)\}", usage.stdout)
    assert commands is not None and "run" in commands.group(1).split(","), usage.stdout
    run_usage = subprocess.run(
        [*RUN_COMMAND[:4], "--help"], capture_output=True, text=True, env=cli_env, cwd=tmp_path, timeout=60, check=False
    )
    assert run_usage.returncode == 0 and "--platform" in run_usage.stdout, (run_usage.stdout, run_usage.stderr)
    assert "slack" in run_usage.stdout


async def wait_healthy(base_url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(
                    f"readbot run exited with {proc.returncode} before serving /healthz:\n"
                    f"{log.read_text(errors='replace')[-3000:]}"
                )
            try:
                async with session.get(f"{base_url}/healthz") as resp:
                    if resp.status == 200 and await resp.text() == "ok":
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"readbot run did not serve /healthz within {timeout}s:\n{log.read_text()[-3000:]}")


def spied_slack(spies: list[RecordingDispatcher]) -> Callable[[AdapterKit], SlackAdapter]:
    """An adapter factory: a SlackAdapter on 127.0.0.1 whose dispatcher is wrapped in a recorder."""

    def make(kit: AdapterKit) -> SlackAdapter:
        spy = RecordingDispatcher(kit.dispatcher)
        spies.append(spy)
        return SlackAdapter(kit.settings, spy, host="127.0.0.1")

    return make


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def inprocess_bot(
    knowledge_service: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningBot]:
    """open_app with a SlackAdapter in this loop. The knowledge service is the session's
    (the reading indexed once for the whole test run) and stays open; the rest is this bot's,
    closed when the block is left."""
    handler = ListHandler()
    adapter_log = logging.getLogger("bot.adapters.slack")
    old_level = adapter_log.level
    adapter_log.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    data_dir = tmp_path_factory.mktemp("slack-data")
    try:
        async with FakeSlackAPI() as fake:
            settings = Settings.from_env(
                {
                    "READBOT_DATA_DIR": str(data_dir),
                    "SLACK_BOT_TOKEN": TOKEN,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": fake.api_url,
                    "READBOT_CONFIG": str(data_dir / "none.toml"),
                },
                dotenv=None,
            )
            settings = dataclasses.replace(settings, http_port=0)  # any free port (not settable from env)
            spies: list[RecordingDispatcher] = []
            async with open_app(
                settings, adapters=[spied_slack(spies)], knowledge=knowledge_service, run_tasks=False
            ) as app:
                (adapter,) = app.adapters
                (spy,) = spies
                assert isinstance(adapter, SlackAdapter) and adapter.dispatcher is spy

                def log_text() -> str:
                    return "\n".join(handler.format(r) for r in handler.records)

                yield RunningBot(
                    "inprocess", fake, f"http://127.0.0.1:{adapter.http_port}", spy, adapter, log_text, handler.records
                )
    finally:
        logging.getLogger().removeHandler(handler)
        adapter_log.setLevel(old_level)


@dataclass
class Launched:
    proc: subprocess.Popen[bytes]
    fake: FakeSlackAPI
    base_url: str
    log: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def launched_subprocess(
    cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Launched]:
    """``readbot run --platform slack`` started (not yet ready) on a free port."""
    workdir = tmp_path_factory.mktemp("slack-run")
    log = workdir / "readbot.log"
    port = free_port()
    async with FakeSlackAPI() as fake:
        env = bot_env(cli_env, workdir / "data", fake.api_url, port)
        with log.open("wb") as out:
            proc = subprocess.Popen(RUN_COMMAND, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield Launched(proc, fake, f"http://127.0.0.1:{port}", log)
        finally:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def subprocess_bot(launched_subprocess: Launched) -> RunningBot:
    """The launched ``readbot run``, once it serves /healthz (fails, with its log, if it exits first)."""
    launched = launched_subprocess
    await wait_healthy(launched.base_url, launched.proc, launched.log)
    return RunningBot(
        "subprocess", launched.fake, launched.base_url, log_text=lambda: launched.log.read_text(errors="replace")
    )


@pytest.fixture(scope="module", params=["inprocess", "subprocess"])
def bot(request: pytest.FixtureRequest, launched_subprocess: Launched) -> RunningBot:
    """Each scenario against each bot. The subprocess is launched first so that it loads
    its model and index while the in-process scenarios run."""
    return request.getfixturevalue(f"{request.param}_bot")


@e2e
async def test_healthz(bot: RunningBot) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{bot.base_url}/healthz") as resp:
        assert (resp.status, await resp.text()) == (200, "ok")


@e2e
async def test_mention_is_answered_in_a_new_thread_with_a_citation(bot: RunningBot) -> None:
    channel, ts = new_channel(), new_ts()
    resp = await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, ts=ts)
    assert resp.status == 200
    post = await bot.fake.wait_for_call("chat.postMessage", in_channel(channel), timeout=ANSWER_TIMEOUT)
    assert post.args["thread_ts"] == ts  # a top-level question starts a thread
    assert post.token == TOKEN
    assert "vibe coding" in post.args["text"]  # the answer quotes the passage; the section is cited below
    context = [b for b in post.args["blocks"] if b["type"] == "context"]
    assert context and VIBE_SECTION in context[0]["elements"][0]["text"]
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in post.args["blocks"] if b["type"] == "section")


@e2e
async def test_mention_inside_a_thread_is_answered_in_that_thread(bot: RunningBot) -> None:
    channel, parent, ts = new_channel(), new_ts(), new_ts()
    await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, ts=ts, thread_ts=parent)
    post = await bot.fake.wait_for_call("chat.postMessage", in_channel(channel), timeout=ANSWER_TIMEOUT)
    assert post.args["thread_ts"] == parent
    assert VIBE_SECTION in posted_text(post)


@e2e
async def test_slash_ask_is_acked_at_once_and_answered_in_the_channel(bot: RunningBot) -> None:
    channel, response_url = new_channel(), bot.fake.new_response_url()
    started = time.monotonic()
    resp = await send_slash_command(
        bot.url, SECRET, "/ask", VIBE_QUESTION, channel_id=channel, response_url=response_url
    )
    assert resp.status == 200 and time.monotonic() - started < 3.0
    post = await bot.fake.wait_for_call("chat.postMessage", in_channel(channel), timeout=ANSWER_TIMEOUT)
    assert "thread_ts" not in post.args
    assert VIBE_SECTION in posted_text(post)
    assert not any(in_channel(channel)(c) for c in bot.fake.calls_to("chat.postEphemeral"))
    assert bot.fake.calls_to("response_url") == []


@e2e
async def test_empty_ask_gets_a_private_message_only(bot: RunningBot) -> None:
    channel = new_channel()
    resp = await send_slash_command(
        bot.url, SECRET, "/ask", "  ", channel_id=channel, response_url=bot.fake.new_response_url()
    )
    assert resp.status == 200
    private = await bot.fake.wait_for_call("chat.postEphemeral", in_channel(channel), timeout=ANSWER_TIMEOUT)
    assert private.args["user"] == DEFAULT_USER_ID
    assert "Please ask a question" in private.args["text"]
    await asyncio.sleep(QUIET_WINDOW)
    assert not any(in_channel(channel)(c) for c in bot.fake.calls_to("chat.postMessage"))


@e2e
async def test_unknown_command_gets_a_private_message(bot: RunningBot) -> None:
    channel = new_channel()
    await send_slash_command(bot.url, SECRET, "/nosuch", "x", channel_id=channel)
    private = await bot.fake.wait_for_call("chat.postEphemeral", in_channel(channel), timeout=ANSWER_TIMEOUT)
    assert "/nosuch" in private.args["text"]


@e2e
@pytest.mark.parametrize(
    "tamper", [Tamper.WRONG_SECRET, Tamper.BODY_CHANGED, Tamper.MISSING_HEADERS, Tamper.STALE_TIMESTAMP]
)
async def test_bad_signature_is_rejected_without_any_web_api_call(bot: RunningBot, tamper: Tamper) -> None:
    channel = new_channel()
    before = len(bot.fake.calls)
    mention = await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, tamper=tamper)
    command = await send_slash_command(
        bot.url,
        SECRET,
        "/ask",
        VIBE_QUESTION,
        channel_id=channel,
        response_url=bot.fake.new_response_url(),
        tamper=tamper,
    )
    assert (mention.status, command.status) == (401, 401)
    await asyncio.sleep(QUIET_WINDOW)
    assert bot.fake.calls[before:] == []
    if bot.spy is not None:
        assert bot.spy.events(lambda e: e.where.channel.id == channel) == []


@e2e
async def test_retried_event_is_answered_once(bot: RunningBot) -> None:
    channel, ts, event_id = new_channel(), new_ts(), new_event_id()
    first = await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, ts=ts, event_id=event_id)
    retry = await send_app_mention(
        bot.url,
        SECRET,
        VIBE_QUESTION,
        channel=channel,
        ts=ts,
        event_id=event_id,
        retry_num=1,
        retry_reason="http_timeout",
    )
    assert (first.status, retry.status) == (200, 200)
    await bot.fake.wait_for_call("chat.postMessage", in_channel(channel), timeout=ANSWER_TIMEOUT)
    late = await send_app_mention(
        bot.url,
        SECRET,
        VIBE_QUESTION,
        channel=channel,
        ts=ts,
        event_id=event_id,
        retry_num=2,
        retry_reason="http_error",
    )
    assert late.status == 200
    # a later question in the same channel is answered: everything before it was processed
    sentinel_ts = new_ts()
    await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, ts=sentinel_ts)
    await bot.fake.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("thread_ts") == sentinel_ts, timeout=ANSWER_TIMEOUT
    )
    await asyncio.sleep(QUIET_WINDOW)
    answers = [c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert len(answers) == 1
    if bot.spy is not None:  # the adapter dropped the retries itself: the dispatcher saw the event once
        assert len(bot.spy.events(lambda e: e.event_id == event_id)) == 1


@e2e
async def test_mass_mentions_are_never_posted(bot: RunningBot) -> None:
    channel = new_channel()
    question = "@everyone <!channel> <!here|here> <@U0VICTIM> what does Ilya say about vibe coding? @here"
    await send_app_mention(bot.url, SECRET, question, channel=channel)
    await send_slash_command(
        bot.url, SECRET, "/ask", f"<!everyone> {question}", channel_id=channel, response_url=bot.fake.new_response_url()
    )
    await send_slash_command(
        bot.url, SECRET, "/ask", "<!channel> @everyone", channel_id=channel, response_url=bot.fake.new_response_url()
    )  # nothing left to ask: private
    await bot.fake.wait_for_calls("chat.postMessage", 2, in_channel(channel), timeout=ANSWER_TIMEOUT)
    await bot.fake.wait_for_call("chat.postEphemeral", in_channel(channel), timeout=ANSWER_TIMEOUT)
    for call in bot.fake.calls:  # every call this bot made so far, this test's and the others'
        sent = json.dumps(call.args, ensure_ascii=False)
        assert not MASS.search(sent), f"{call.method} sent a mass mention: {sent[:500]}"
        assert "<@U0VICTIM" not in sent


@e2e
async def test_messages_from_bots_get_no_answer(bot: RunningBot) -> None:
    channel, dm = new_channel(), new_channel("D")
    own_mention = await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, user=bot.fake.bot_user_id)
    other_ts = new_ts()
    other_mention = await send_event(
        bot.url,
        SECRET,
        {
            "type": "app_mention",
            "user": OTHER_BOT_USER,
            "bot_id": OTHER_BOT_ID,
            "channel": channel,
            "text": f"<@{bot.fake.bot_user_id}> {VIBE_QUESTION}",
            "ts": other_ts,
            "event_ts": other_ts,
        },
    )
    own_dm = await send_message_event(
        bot.url, SECRET, VIBE_QUESTION, channel=dm, channel_type="im", user=bot.fake.bot_user_id, bot_id=bot.fake.bot_id
    )
    other_dm = await send_message_event(
        bot.url,
        SECRET,
        VIBE_QUESTION,
        channel=dm,
        channel_type="im",
        user=None,
        bot_id=OTHER_BOT_ID,
        subtype="bot_message",
    )
    assert {r.status for r in (own_mention, other_mention, own_dm, other_dm)} == {200}
    # a person's DM and mention after them are answered (DM at top level, mention in a thread)
    await send_message_event(bot.url, SECRET, VIBE_QUESTION, channel=dm, channel_type="im")
    dm_answer = await bot.fake.wait_for_call("chat.postMessage", in_channel(dm), timeout=ANSWER_TIMEOUT)
    assert "thread_ts" not in dm_answer.args and VIBE_SECTION in posted_text(dm_answer)
    person_ts = new_ts()
    await send_app_mention(bot.url, SECRET, VIBE_QUESTION, channel=channel, ts=person_ts)
    await bot.fake.wait_for_call("chat.postMessage", in_channel(channel), timeout=ANSWER_TIMEOUT)
    await asyncio.sleep(QUIET_WINDOW)
    posts = [c for c in bot.fake.calls if c.args.get("channel") in (channel, dm)]
    assert [(c.method, c.args["channel"]) for c in posts] == [("chat.postMessage", dm), ("chat.postMessage", channel)]
    assert posts[1].args["thread_ts"] == person_ts
    if bot.spy is not None:  # other bots reach the dispatcher flagged as bots, and are ignored there
        from_bots = bot.spy.events(lambda e: e.user.is_bot and e.where.channel.id in (channel, dm))
        assert len(from_bots) == 2 and not any(result for _, result in from_bots)


@e2e
async def test_ask_where_the_bot_is_not_a_member_is_answered_through_response_url(bot: RunningBot) -> None:
    channel, response_url = new_channel(), bot.fake.new_response_url()
    bot.fake.fail("chat.postMessage", error="not_in_channel")
    await send_slash_command(bot.url, SECRET, "/ask", VIBE_QUESTION, channel_id=channel, response_url=response_url)
    hook = await bot.fake.wait_for_call("response_url", lambda c: response_url.endswith(c.path), timeout=ANSWER_TIMEOUT)
    assert hook.args["response_type"] == "in_channel" and hook.args["replace_original"] is False
    assert VIBE_SECTION in json.dumps(hook.args, ensure_ascii=False)
    assert [c.status for c in bot.fake.calls_to("chat.postMessage") if in_channel(channel)(c)] == [200]


async def wait_for_events(
    spy: RecordingDispatcher, predicate: Callable[[Event], bool], count: int = 1, timeout: float = 10.0
) -> list[tuple[Event, bool]]:
    """What reached the dispatcher and matches, once ``count`` such events have (polled)."""
    deadline = time.monotonic() + timeout
    while len(found := spy.events(predicate)) < count:
        assert time.monotonic() < deadline, f"only {len(found)} of {count} events reached the dispatcher"
        await asyncio.sleep(0.01)
    return found


@e2e
async def test_commands_carry_whether_the_person_is_a_slack_admin(inprocess_bot: RunningBot) -> None:
    bot = inprocess_bot
    assert bot.spy is not None
    bot.fake.add_user("U0ADMIN", "ada", is_admin=True)
    bot.fake.add_user("U0MEMBER", "max")
    channel = new_channel()
    for user in ("U0ADMIN", "U0MEMBER"):
        await send_slash_command(bot.url, SECRET, "/nosuch", "", user_id=user, channel_id=channel)
    found = await wait_for_events(bot.spy, lambda e: e.where.channel.id == channel, count=2)
    assert {(e.user.id, e.user.is_admin) for e, _ in found} == {("U0ADMIN", True), ("U0MEMBER", False)}


@e2e
async def test_send_update_and_private_messages(inprocess_bot: RunningBot) -> None:
    adapter, fake = inprocess_bot.adapter, inprocess_bot.fake
    assert adapter is not None
    assert await adapter.connected()  # what /readyz asks
    channel = new_channel()
    where = Where(Channel("slack", channel), thread_id="1.000200")
    poll = Reply(
        "Which chapter? @everyone", buttons=(Button("One", "poll:vote", "p:0"), Button("Two", "poll:vote", "p:1"))
    )
    ref = await adapter.send(where, poll)
    post = fake.calls_to("chat.postMessage")[-1]
    assert ref.where == where and ref.message_id == post.response["ts"]
    assert post.args["thread_ts"] == "1.000200" and not MASS.search(posted_text(post))
    assert [e["value"] for e in post.args["blocks"][-1]["elements"]] == ["p:0", "p:1"]

    await adapter.update(ref, Reply("Closed: One wins"))
    update = fake.calls_to("chat.update")[-1]
    assert (update.args["channel"], update.args["ts"]) == (channel, ref.message_id)
    assert [b["type"] for b in update.args["blocks"]] == ["section"]  # the buttons are gone

    await adapter.post_ephemeral(where, User(DEFAULT_USER_ID), Reply("only you"))
    private = fake.calls_to("chat.postEphemeral")[-1]
    assert (private.args["channel"], private.args["user"], private.args["thread_ts"]) == (
        channel,
        DEFAULT_USER_ID,
        "1.000200",
    )

    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    await adapter.send(Where(Channel("slack", channel)), Reply("Results", image=png, image_name="poll.png"))
    assert [c.method for c in fake.calls[-4:]] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    assert any(f.content == png and f.filename == "poll.png" for f in fake.files.values())
    with pytest.raises(UnsupportedOperation):
        await adapter.post_ephemeral(where, User(DEFAULT_USER_ID), Reply("chart", image=png))
    with pytest.raises(ValueError, match="post_ephemeral"):
        await adapter.send(where, Reply("secret", visibility=Visibility.PRIVATE))


@e2e
async def test_button_click_is_acked_and_dispatched(inprocess_bot: RunningBot) -> None:
    bot = inprocess_bot
    assert bot.spy is not None
    channel, message_ts = new_channel(), new_ts()
    resp = await send_block_action(
        bot.url, SECRET, "readbot-test:click#1", "v:1", channel_id=channel, message_ts=message_ts
    )
    assert resp.status == 200
    clicks = await wait_for_events(bot.spy, lambda e: isinstance(e, ButtonClick) and e.where.channel.id == channel)
    ((click, handled),) = clicks
    assert isinstance(click, ButtonClick) and not handled  # no handler for that action
    assert (click.action, click.value, click.user.id) == ("readbot-test:click", "v:1", DEFAULT_USER_ID)
    assert click.message is not None and click.message.message_id == message_ts


@e2e
async def test_logs_one_line_per_event_and_never_a_token(bot: RunningBot) -> None:
    logs = bot.log_text()
    assert TOKEN not in logs and SECRET not in logs
    if bot.records:  # in-process: every event that reached the dispatcher was logged once, at INFO
        assert bot.spy is not None
        lines = [
            r.getMessage() for r in bot.records if r.name == "bot.adapters.slack.adapter" and r.levelno == logging.INFO
        ]
        for event, _ in bot.spy.handled:
            accepted = [line for line in lines if f" {event.event_id} channel=" in line]
            assert len(accepted) == 1, (event, accepted)


@e2e
async def test_rejected_token_stops_start_with_a_config_error(tmp_path: Path) -> None:
    async with FakeSlackAPI() as fake:
        settings = Settings.from_env(
            {
                "READBOT_DATA_DIR": str(tmp_path),
                "SLACK_BOT_TOKEN": "xoxb-revoked",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
            },
            dotenv=None,
        )
        adapter = SlackAdapter(dataclasses.replace(settings, http_port=0), Dispatcher(), host="127.0.0.1")
        with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
            await adapter.start()
        assert not await adapter.connected()
        await adapter.stop()


class FakeSocketMode:
    """Slack's side of Socket Mode: a WebSocket that pushes envelopes and records acks."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self.url = ""
        self._ws: web.WebSocketResponse | None = None
        self._connected = asyncio.Event()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link/", self._serve)
        self._runner, port = await serve_on_loopback(app)
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=fake-ticket&app_id={DEFAULT_APP_ID}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._ws = ws
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": DEFAULT_APP_ID}})
        self._connected.set()
        async for frame in ws:
            if frame.type is WSMsgType.TEXT:
                self.acks.append(json.loads(frame.data))
                async with self._changed:
                    self._changed.notify_all()
        return ws

    async def push(self, kind: str, payload: dict[str, Any], **fields: Any) -> str:
        envelope_id = uuid.uuid4().hex
        await asyncio.wait_for(self._connected.wait(), 5)
        assert self._ws is not None
        await self._ws.send_json({"envelope_id": envelope_id, "type": kind, "payload": payload, **fields})
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        def found() -> list[dict[str, Any]]:
            return [a for a in self.acks if a.get("envelope_id") == envelope_id]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(found), timeout)
        return found()[0]


def command_form(command: str, text: str, channel: str) -> dict[str, str]:
    return {
        "command": command,
        "text": text,
        "channel_id": channel,
        "channel_name": "general",
        "user_id": DEFAULT_USER_ID,
        "user_name": "tester",
        "team_id": "T0000FAKE",
        "api_app_id": DEFAULT_APP_ID,
        "trigger_id": f"{time.time():.0f}.{uuid.uuid4().hex[:12]}",
        "response_url": "http://127.0.0.1:1/response_url/unset",
    }


@e2e
async def test_socket_mode_answers_events_and_commands(knowledge_service: Any, tmp_path: Path) -> None:
    app_token = "xapp-1-A0000FAKE-1-fake"
    socket_mode = FakeSocketMode()
    await socket_mode.start()
    async with FakeSlackAPI() as fake:
        fake.valid_tokens.add(app_token)
        fake.register("apps.connections.open", lambda args: {"url": socket_mode.url})
        env = {
            "READBOT_DATA_DIR": str(tmp_path),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_APP_TOKEN": app_token,
            "SLACK_API_URL": fake.api_url,
            "READBOT_CONFIG": str(tmp_path / "none.toml"),
        }
        settings = Settings.from_env(env, dotenv=None)
        modes: list[str] = []

        def slack(kit: AdapterKit) -> SlackAdapter:
            adapter = SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1")  # (Socket Mode: no server)
            modes.append(adapter.mode)  # decided before it starts
            return adapter

        try:
            # leaving the block stops the adapter and closes the history and database (not the
            # session's knowledge service)
            async with open_app(settings, adapters=[slack], knowledge=knowledge_service, run_tasks=False) as app:
                (adapter,) = app.adapters
                assert modes == ["socket"] and isinstance(adapter, SlackAdapter)
                opened = fake.calls_to("apps.connections.open")
                assert [c.token for c in opened] == [app_token] and adapter.http_port is None
                assert await adapter.connected()
                channel, ts, event_id = new_channel(), new_ts(), new_event_id()
                mention = {
                    "type": "app_mention",
                    "user": DEFAULT_USER_ID,
                    "channel": channel,
                    "ts": ts,
                    "event_ts": ts,
                    "text": f"<@{fake.bot_user_id}> {VIBE_QUESTION}",
                }
                body = event_envelope(mention, event_id=event_id)
                await socket_mode.wait_ack(await socket_mode.push("events_api", body, retry_attempt=0))
                post = await fake.wait_for_call("chat.postMessage", in_channel(channel), timeout=ANSWER_TIMEOUT)
                assert post.args["thread_ts"] == ts and VIBE_SECTION in posted_text(post)
                retry = await socket_mode.push("events_api", body, retry_attempt=1, retry_reason="timeout")
                await socket_mode.wait_ack(retry)
                command = await socket_mode.push(
                    "slash_commands", command_form("/ask", VIBE_QUESTION, channel), accepts_response_payload=True
                )
                await socket_mode.wait_ack(command)  # acked before the answer is worked out
                await fake.wait_for_calls("chat.postMessage", 2, in_channel(channel), timeout=ANSWER_TIMEOUT)
                await asyncio.sleep(QUIET_WINDOW)
                posts = [c for c in fake.calls_to("chat.postMessage") if in_channel(channel)(c)]
                assert [c.args.get("thread_ts") for c in posts] == [ts, None]  # the retry was not answered
        finally:
            await socket_mode.stop()


@e2e
async def test_rejected_app_token_stops_socket_mode_start(tmp_path: Path) -> None:
    async with FakeSlackAPI() as fake:
        env = {
            "READBOT_DATA_DIR": str(tmp_path),
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_APP_TOKEN": "xapp-revoked",
            "SLACK_API_URL": fake.api_url,
        }
        fake.register("apps.connections.open", lambda args: {"url": "ws://127.0.0.1:1/"})
        adapter = SlackAdapter(Settings.from_env(env, dotenv=None), Dispatcher())
        with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
            await adapter.start()
        await adapter.stop()


def test_missing_bot_token_exits_2_with_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = bot_env(cli_env, tmp_path / "data", "http://127.0.0.1:1/api/", free_port())
    del env["SLACK_BOT_TOKEN"]
    done = subprocess.run(RUN_COMMAND, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0], done.stderr
    assert "Traceback" not in done.stderr + done.stdout
