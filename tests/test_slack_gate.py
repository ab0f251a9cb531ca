"""Junk at the Slack door: every request verified and shape-checked before anything parses it.

readbot runs for real (``open_app`` with a ``SlackAdapter`` in HTTP mode, the session's knowledge
service) against ``tests/fakes/slack_server.FakeSlackAPI``; requests are sent as raw bytes
(``post_raw``), signed over those bytes or not. Each scenario checks the status (401 for a missing,
wrong or stale signature; 400 for a signed but malformed body), ``readbot_rejected_requests_total``
by reason, that no ERROR (nor any traceback) was logged and ``readbot_errors_total`` stayed at 0,
and that nothing reached the dispatcher or the Web API. Then a fuzz of real payloads with fields of
the wrong type; Socket Mode envelopes; the rate-limited warning; and ``readbot run`` with
READBOT_OPS_PORT, whose public port serves only ``/slack/events``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import logging
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.gate import LOG_EVERY, Gate, Rejected, RejectLog, shape_problem
from bot.app import AdapterKit, open_app
from bot.core.dispatcher import Dispatcher
from bot.core.events import Event
from bot.ops.metrics import ErrorCounter, PrometheusMetrics
from bot.settings import Settings
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_BOT_USER_ID,
    DEFAULT_USER_ID,
    FakeSlackAPI,
    event_envelope,
    new_ts,
    post_raw,
    send_slash_command,
    sign_bytes,
)
from tests.test_slack_adapter import FakeSocketMode, command_form, free_port, wait_healthy

SECRET = "readbot-gate-signing-secret"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
aio = pytest.mark.asyncio(loop_scope="module")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Spy:
    def __init__(self, inner: Dispatcher) -> None:
        self.inner, self.events = inner, list[Event]()

    async def dispatch(self, event: Event, responder: Any) -> bool:
        self.events.append(event)
        return await self.inner.dispatch(event, responder)


@dataclass
class Gated:
    fake: FakeSlackAPI
    adapter: SlackAdapter
    metrics: PrometheusMetrics
    spy: Spy
    log: Records
    url: str

    def rejected(self, reason: str) -> float:
        return self.metrics.rejected_requests.value(reason)

    def errors(self) -> list[logging.LogRecord]:
        return [r for r in self.log.records if r.levelno >= logging.ERROR or r.exc_info]

    def errors_total(self) -> float:
        return sum(
            s.value for f in self.metrics.errors.metric.collect() for s in f.samples if s.name.endswith("_total")
        )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gated(knowledge_service: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gated]:
    data_dir = tmp_path_factory.mktemp("gate")
    records = Records()
    metrics = PrometheusMetrics()
    counter = ErrorCounter(metrics)  # as `readbot run` counts ERROR lines
    root = logging.getLogger()
    root.addHandler(records)
    root.addHandler(counter)
    slack_log = logging.getLogger("bot.adapters.slack")
    old_level = slack_log.level
    slack_log.setLevel(logging.INFO)
    spies: list[Spy] = []
    try:
        async with FakeSlackAPI() as fake:
            settings = Settings.from_env(
                {
                    "READBOT_DATA_DIR": str(data_dir),
                    "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": fake.api_url,
                    "READBOT_CONFIG": str(data_dir / "none.toml"),
                },
                dotenv=None,
            )

            def make(kit: AdapterKit) -> SlackAdapter:
                spies.append(Spy(kit.dispatcher))
                return SlackAdapter(kit.settings, spies[-1], host="127.0.0.1", metrics=metrics, commands=kit.commands)

            async with open_app(
                dataclasses.replace(settings, http_port=0),
                adapters=[make],
                knowledge=knowledge_service,
                metrics=metrics,
                run_tasks=False,
            ) as app:
                (adapter,) = app.adapters
                assert isinstance(adapter, SlackAdapter)
                yield Gated(
                    fake, adapter, metrics, spies[0], records, f"http://127.0.0.1:{adapter.http_port}/slack/events"
                )
    finally:
        root.removeHandler(records)
        root.removeHandler(counter)
        slack_log.setLevel(old_level)


def mention_envelope(channel: str, text: str = "hello") -> dict[str, Any]:
    ts = new_ts()
    event = {
        "type": "app_mention",
        "user": DEFAULT_USER_ID,
        "text": f"<@{DEFAULT_BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": "T0000FAKE",
    }
    return dict(event_envelope(event))


def block_action(channel: str) -> dict[str, Any]:
    ts = new_ts()
    return {
        "type": "block_actions",
        "user": {"id": DEFAULT_USER_ID, "username": "tester", "name": "tester", "team_id": "T0000FAKE"},
        "team": {"id": "T0000FAKE", "domain": "fake"},
        "api_app_id": "A0000FAKE",
        "enterprise": None,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "user": DEFAULT_BOT_USER_ID, "text": "", "ts": ts},
        "state": {"values": {}},
        "actions": [{"type": "button", "action_id": "readbot-test:nothing", "block_id": "b", "value": "1"}],
    }


def view_submission() -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": DEFAULT_USER_ID, "username": "tester", "team_id": "T0000FAKE"},
        "team": {"id": "T0000FAKE"},
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "view": {
            "id": "V1",
            "type": "modal",
            "hash": "h",
            "callback_id": "readbot-test:form",
            "private_metadata": "",
            "state": {"values": {"b": {"a": {"type": "plain_text_input", "value": "x"}}}},
        },
    }


def as_payload(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


async def no_trace(gated: Gated, channel: str | None = None, *, calls_before: int | None = None) -> None:
    """Nothing logged as an error, nothing dispatched (in ``channel``), no Web API call since ``calls_before``."""
    await gated.adapter.idle()
    assert gated.errors() == [], [r.getMessage() for r in gated.errors()]
    assert gated.errors_total() == 0
    if channel is not None:
        assert [e for e in gated.spy.events if e.where.channel.id == channel] == []
    if calls_before is not None:
        assert gated.fake.calls[calls_before:] == []


# (what, content type, body, reason when signed)
JUNK = [
    ("a JSON list", JSON, b"[1]", "not_json"),
    ("broken JSON", JSON, b"{not json", "not_json"),
    ("an empty body", JSON, b"", "not_json"),
    ("invalid UTF-8", JSON, b"\xff\xfe\xfd", "not_utf8"),
    ("invalid UTF-8 in a form", FORM, b"payload=%7B%22a%22%3A1%7D\xc3", "not_utf8"),
    ("a payload that isn't JSON", FORM, b"payload=%7Bx", "bad_form"),
    ("a payload that is a JSON string", FORM, b"payload=%22x%22", "bad_form"),
    ("a form of nothing readbot knows", FORM, b"hello=1", "bad_form"),
    ("deeply nested JSON", JSON, b"[" * 100_000 + b"]" * 100_000, "not_json"),
    ("an object without a type", JSON, b'{"event": {}}', "malformed"),
    ("a type that is a number", JSON, b'{"type": 5}', "malformed"),
    ("an event that is a list", JSON, b'{"type": "event_callback", "event_id": "Ev1", "event": []}', "malformed"),
    ("a block action without actions", FORM, as_payload({"type": "block_actions", "user": {"id": "U1"}}), "malformed"),
    ("a command without a channel", FORM, b"command=%2Fask&text=hi&user_id=U1", "malformed"),
]


@aio
@pytest.mark.parametrize("what,content_type,body,_reason", JUNK, ids=[j[0] for j in JUNK])
async def test_unsigned_junk_gets_401_and_no_error(
    gated: Gated, what: str, content_type: str, body: bytes, _reason: str
) -> None:
    calls, events = len(gated.fake.calls), len(gated.spy.events)
    unsigned, bad = gated.rejected("unsigned"), gated.rejected("bad_signature")
    no_headers = await post_raw(gated.url, body, content_type=content_type)
    forged = await post_raw(
        gated.url,
        body,
        content_type=content_type,
        headers={"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
    )
    not_a_number = await post_raw(
        gated.url,
        body,
        content_type=content_type,
        headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=abc"},
    )
    wrong_secret = await post_raw(gated.url, body, content_type=content_type, secret=SECRET + "x")
    assert [r.status for r in (no_headers, forged, not_a_number, wrong_secret)] == [401] * 4
    assert (gated.rejected("unsigned") - unsigned, gated.rejected("bad_signature") - bad) == (1, 3)
    assert len(gated.spy.events) == events
    await no_trace(gated, calls_before=calls)


@aio
@pytest.mark.parametrize("what,content_type,body,reason", JUNK, ids=[j[0] for j in JUNK])
async def test_signed_junk_gets_400_and_no_error(
    gated: Gated, what: str, content_type: str, body: bytes, reason: str
) -> None:
    calls, events, before = len(gated.fake.calls), len(gated.spy.events), gated.rejected(reason)
    resp = await post_raw(gated.url, body, content_type=content_type, secret=SECRET)
    assert resp.status == 400, resp.body
    assert gated.rejected(reason) - before == 1
    assert len(gated.spy.events) == events
    await no_trace(gated, calls_before=calls)


@aio
async def test_slacks_own_checks_pass_the_gate(gated: Gated) -> None:
    """The URL verification handshake and the SSL check are signed and answered as bolt answers them."""
    challenge = await post_raw(
        gated.url, json.dumps({"type": "url_verification", "token": "t", "challenge": "c-123"}).encode(), secret=SECRET
    )
    assert challenge.status == 200 and "c-123" in challenge.body
    ssl = await post_raw(gated.url, b"ssl_check=1&token=t", secret=SECRET, content_type=FORM)
    assert ssl.status == 200
    await no_trace(gated)


@aio
async def test_a_huge_body_is_refused_unread(gated: Gated) -> None:
    before = gated.rejected("too_large")
    resp = await post_raw(gated.url, b"{" + b" " * (5 * 1024 * 1024) + b"}", secret=SECRET)
    assert resp.status == 413 and gated.rejected("too_large") - before == 1
    await no_trace(gated)


@aio
async def test_signed_but_stale_or_odd_timestamps(gated: Gated) -> None:
    body = json.dumps(mention_envelope("C0STALE")).encode()
    before = (gated.rejected("bad_timestamp"), gated.rejected("stale"))
    odd = await post_raw(gated.url, body, secret=SECRET, timestamp="12:00")
    stale = await post_raw(gated.url, body, secret=SECRET, timestamp=str(int(time.time()) - 600))
    future = await post_raw(gated.url, body, secret=SECRET, timestamp=str(int(time.time()) + 600))
    huge = await post_raw(gated.url, body, secret=SECRET, timestamp="9" * 40)
    assert [r.status for r in (odd, stale, future, huge)] == [400, 401, 401, 400]
    assert (gated.rejected("bad_timestamp") - before[0], gated.rejected("stale") - before[1]) == (2, 2)
    latin = await post_raw(gated.url, body, secret=SECRET, content_type="application/json; charset=koi8-r")
    assert latin.status == 400
    await no_trace(gated, "C0STALE")


def mutations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, replacement) for every field of a payload, nested ones too: each replaced by values of
    every JSON type, and deleted (replacement ``...``)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        here = (*path, key)
        for junk in (None, 7, 1.5, "x", "", True, [], [1], {}, {"id": 1}, ...):
            if junk != inner:
                yield here, junk
        yield from mutations(inner, here)


def mutated(payload: dict[str, Any], path: tuple[Any, ...], junk: Any) -> dict[str, Any]:
    copied = copy.deepcopy(payload)
    holder: Any = copied
    for key in path[:-1]:
        holder = holder[key]
    if junk is ...:
        del holder[path[-1]]
    else:
        holder[path[-1]] = junk
    return copied


@aio
@pytest.mark.parametrize("kind", ["app_mention", "block_actions", "view_submission"])
async def test_signed_payloads_with_fields_of_any_type_never_fail(gated: Gated, kind: str) -> None:
    """Every field of a real payload replaced by every JSON type (or deleted): the answer is 200 (the
    request still makes sense), 400 (malformed) or 404 (nothing handles that type), never 500, and
    no ERROR line, here or in whatever the accepted ones led to."""
    channel = "C0FUZZ" + kind[:3].upper()
    base = {"app_mention": lambda: mention_envelope(channel, "hi"), "block_actions": lambda: block_action(channel)}
    payload = base.get(kind, view_submission)()
    statuses: dict[int, int] = {}
    for path, junk in mutations(payload):
        changed = mutated(payload, path, junk)
        if kind == "app_mention":
            changed["event_id"] = f"Ev{uuid.uuid4().hex[:10]}" if path != ("event_id",) else changed.get("event_id")
            resp = await post_raw(gated.url, json.dumps(changed).encode(), secret=SECRET)
        else:
            resp = await post_raw(gated.url, as_payload(changed), secret=SECRET, content_type=FORM)
        assert resp.status in (200, 400, 404), (path, junk, resp.status, resp.body)
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
    assert statuses.get(400, 0) > 10 and statuses.get(200, 0) > 10, statuses
    await no_trace(gated)


@aio
async def test_a_slash_command_whose_text_says_payload_is_answered(gated: Gated) -> None:
    """bolt reads a form containing the word "payload" as an interactive payload (and finds none); the
    gate's reading of the form is what bolt gets, so the command is not lost."""
    channel = "C0PAYLOAD"
    resp = await send_slash_command(
        gated.url, SECRET, "/ask", "what is the payload of vibe coding?", channel_id=channel
    )
    assert resp.status == 200
    await gated.adapter.idle()
    (event,) = [e for e in gated.spy.events if e.where.channel.id == channel]
    assert "payload" in getattr(event, "text", "")


@aio
async def test_a_spray_of_junk_logs_one_short_warning(gated: Gated) -> None:
    start = len(gated.log.records)
    gated.adapter.gate.reject_log = RejectLog()  # a fresh minute for this source
    for i in range(300):
        await post_raw(gated.url, b"[%d]" % i, secret=SECRET if i % 2 else None)
    warnings = [r for r in gated.log.records[start:] if r.name == "bot.adapters.slack.gate"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    line = warnings[0].getMessage()
    assert "127.0.0.1" in line and "\n" not in line and len(line) < 200
    await no_trace(gated)


def test_the_rejection_log_says_how_many_were_held_back() -> None:
    now = [0.0]
    lines: list[str] = []
    handler = Records()
    logger = logging.getLogger("bot.adapters.slack.gate")
    logger.addHandler(handler)
    try:
        reject_log = RejectLog(lambda: now[0])
        for source in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"):
            reject_log.note(source, Rejected(401, "unsigned"), "request")
        now[0] = LOG_EVERY + 1
        reject_log.note("10.0.0.1", Rejected(400, "not_json", "not JSON"), "request")
        lines = [r.getMessage() for r in handler.records]
    finally:
        logger.removeHandler(handler)
    assert len(lines) == 3
    assert lines[0] == "slack: rejected request from 10.0.0.1: unsigned (401)"
    assert lines[1].startswith("slack: rejected request from 10.0.0.2")
    assert lines[2] == "slack: rejected request from 10.0.0.1: not JSON (400); 2 more since the last line"


def test_the_gate_signs_as_slack_sdk_does() -> None:
    """Its HMAC over raw bytes is the library's for every UTF-8 body, and a request the library
    accepts passes the gate."""
    ts = str(int(time.time()))
    body = json.dumps(mention_envelope("C1", "naïve “quotes” ✓"), ensure_ascii=False)
    verifier = SignatureVerifier(SECRET)
    signature = verifier.generate_signature(timestamp=ts, body=body)
    assert signature == sign_bytes(SECRET, ts, body.encode())
    text, parsed = Gate(SECRET).check_http(
        body.encode(), {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""}
    )
    assert text == body and parsed["event"]["channel"] == "C1"
    with pytest.raises(Rejected) as caught:
        Gate("").check_http(body.encode(), {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature or ""})
    assert caught.value.status == 401  # no secret (Socket Mode): nothing over HTTP is taken


def test_shapes_of_what_slack_sends_pass() -> None:
    assert shape_problem(mention_envelope("C1")) is None
    assert shape_problem(block_action("C1")) is None
    assert shape_problem(view_submission()) is None
    assert shape_problem({"type": "url_verification", "challenge": "abc"}) is None
    assert shape_problem(command_form("/ask", "hi", "C1"), form=True) is None
    assert shape_problem({"type": "url_verification"}) == "challenge is missing"
    assert shape_problem({**block_action("C1"), "channel": 5}) == "channel: expected a string or an object"


# =========================================================================== Socket Mode


@aio
async def test_socket_mode_envelopes_get_the_same_shape_checks(knowledge_service: Any, tmp_path: Path) -> None:
    app_token = "xapp-1-A0000FAKE-1-fake"
    socket_mode = FakeSocketMode()
    await socket_mode.start()
    metrics = PrometheusMetrics()
    records = Records()
    logging.getLogger().addHandler(records)
    try:
        async with FakeSlackAPI() as fake:
            fake.valid_tokens.add(app_token)
            fake.register("apps.connections.open", lambda args: {"url": socket_mode.url})
            settings = Settings.from_env(
                {
                    "READBOT_DATA_DIR": str(tmp_path),
                    "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                    "SLACK_APP_TOKEN": app_token,
                    "SLACK_API_URL": fake.api_url,
                    "READBOT_CONFIG": str(tmp_path / "none.toml"),
                },
                dotenv=None,
            )
            spies: list[Spy] = []

            def make(kit: AdapterKit) -> SlackAdapter:
                spies.append(Spy(kit.dispatcher))
                return SlackAdapter(kit.settings, spies[-1], metrics=metrics)

            async with open_app(settings, adapters=[make], knowledge=knowledge_service, run_tasks=False) as app:
                (adapter,) = app.adapters
                assert isinstance(adapter, SlackAdapter)
                bad = [
                    ("events_api", {"type": "event_callback", "event_id": "Ev1", "event": []}),
                    ("events_api", [1]),
                    ("events_api", {"type": "event_callback", "event": {"type": "app_mention", "channel": 5}}),
                    ("slash_commands", {"command": "/ask", "text": ["x"], "user_id": "U1", "channel_id": "C1"}),
                    ("slash_commands", {"command": "/ask"}),
                    ("interactive", {"type": "block_actions", "user": {"id": "U1"}, "actions": "x"}),
                ]
                for kind, payload in bad:
                    ack = await socket_mode.wait_ack(await socket_mode.push(kind, payload))  # type: ignore[arg-type]
                    assert "payload" not in ack  # acked (Slack won't resend it), nothing answered
                # a good envelope after them is still answered
                good = mention_envelope("C0SOCKETOK", "What does Ilya say about vibe coding?")
                await socket_mode.wait_ack(await socket_mode.push("events_api", good))
                await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == "C0SOCKETOK")
                await adapter.idle()
                assert [e.where.channel.id for e in spies[0].events] == ["C0SOCKETOK"]
                assert metrics.rejected_requests.value("malformed") == len(bad)
        assert [r for r in records.records if r.levelno >= logging.ERROR or r.exc_info] == []
        warnings = [r for r in records.records if r.name == "bot.adapters.slack.gate"]
        assert len(warnings) == 1 and "socket mode" in warnings[0].getMessage()
    finally:
        logging.getLogger().removeHandler(records)
        await socket_mode.stop()


# =========================================================================== ops apart


def test_ops_port_settings() -> None:
    base = {"READBOT_HTTP_PORT": "3000"}
    assert Settings.from_env(base, dotenv=None).ops_port is None
    ops = Settings.from_env({**base, "READBOT_OPS_PORT": "9102"}, dotenv=None)
    assert (ops.ops_port, ops.ops_host) == (9102, "127.0.0.1")
    assert Settings.from_env({**base, "READBOT_OPS_HOST": "0.0.0.0"}, dotenv=None).ops_host == "0.0.0.0"
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match="READBOT_OPS_PORT=3000: must differ from READBOT_HTTP_PORT"):
        Settings.from_env({**base, "READBOT_OPS_PORT": "3000"}, dotenv=None)
    with pytest.raises(ConfigError, match="READBOT_OPS_HOST"):
        Settings.from_env({**base, "READBOT_OPS_HOST": "localhost:80"}, dotenv=None)


@pytest.mark.asyncio
async def test_run_serves_ops_apart_and_the_public_port_only_takes_slack_events(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    public, ops = free_port(), free_port()
    log = tmp_path / "readbot.log"
    async with FakeSlackAPI() as fake:
        env = {
            **cli_env,
            "READBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_HTTP_PORT": str(public),
            "READBOT_OPS_PORT": str(ops),
            "READBOT_LOG_LEVEL": "INFO",
        }
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--platform", "slack"],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            await wait_healthy(f"http://127.0.0.1:{ops}", proc, log)  # up first, before the model loads
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + 90
                status = None
                while True:  # ready once the index, the database and Slack are
                    try:
                        async with session.get(f"http://127.0.0.1:{ops}/readyz") as resp:
                            status = resp.status
                    except aiohttp.ClientConnectorError:  # the process stopped: its log says why
                        status = None
                    if status == 200 or time.monotonic() > deadline or proc.poll() is not None:
                        break
                    await asyncio.sleep(0.2)
                assert status == 200, log.read_text(errors="replace")[-3000:]
                for path in ("/healthz", "/readyz", "/metrics"):
                    async with session.get(f"http://127.0.0.1:{public}{path}") as resp:
                        assert resp.status == 404, path
                for junk in (b"[1]", b"{not json", b"\xff\xfe", b"payload=%7Bx"):
                    async with session.post(f"http://127.0.0.1:{public}/slack/events", data=junk) as resp:
                        assert resp.status == 401
                channel = "C0OPSAPART"
                answered = await send_slash_command(
                    f"http://127.0.0.1:{public}/slack/events",
                    SECRET,
                    "/ask",
                    "What is vibe coding?",
                    channel_id=channel,
                )
                assert answered.status == 200
                await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == channel, timeout=60)
                async with session.get(f"http://127.0.0.1:{ops}/metrics") as resp:
                    page = await resp.text()
                assert 'readbot_rejected_requests_total{reason="unsigned"} 4.0' in page
                assert "readbot_errors_total{" not in page  # no error of any kind counted
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 20)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and not re.search(r"\bERROR\b", text), text[-3000:]
    assert f"127.0.0.1:{ops}" in text
