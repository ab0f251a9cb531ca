"""Operating readbot: /healthz, /readyz, /metrics, log lines, SIGTERM, ``readbot doctor``.

Everything is real: the bundled model, Chroma and SQLite in tmp dirs, HTTP requests with an
aiohttp client on loopback, ``python -m bot.cli run`` against the fake Slack Web API.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from bot.adapters.console import ConsoleAdapter
from bot.app import open_app
from bot.core.commands import CommandSpec
from bot.core.events import Channel, User
from bot.core.feature import Feature
from bot.ops import health as ops
from bot.ops import logs
from bot.ops.doctor import run_doctor
from bot.ops.metrics import Counter, ErrorCounter, Histogram, PrometheusMetrics, Registry
from bot.settings import Settings
from bot.store.db import Database, database_url
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import DEFAULT_BOT_TOKEN, FakeSlackAPI, send_app_mention

VIBE = "What does Ilya say about vibe coding?"
NOT_COVERED = "What is Ilya's favourite pizza topping?"
MOD = User("mod-1", "Moderator")
SECRET = "readbot-ops-signing-secret"
POLL_SECRET = "ops-poll-secret-0123456789"
DB_PASSWORD = "pg-pass-w0rd-xyz"
SHUTDOWN_BOUND = 30.0  # seconds: adapters drain up to 8 s, prompts 10 s; the runner caps each adapter at 15 s


def sample(metrics_text: str, name: str, labels: str = "") -> float:
    """A sample's value, read with prometheus_client's parser; ``labels`` as written, e.g. '{kind="slack"}'."""
    found = {
        s.name + ("{" + ",".join(f'{k}="{v}"' for k, v in s.labels.items()) + "}" if s.labels else ""): s.value
        for family in text_string_to_metric_families(metrics_text)
        for s in family.samples
    }
    assert name + labels in found, f"{name}{labels} not in\n{metrics_text}"
    return found[name + labels]


async def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.get(url, headers=headers) as resp,
    ):
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


# ============================================================================ metrics, logs (units)


def test_registry_renders_prometheus_text_that_the_library_parses() -> None:
    registry = Registry()
    plain = registry.add(Counter("readbot_x_total", "Xs."))
    labelled = registry.add(Counter("readbot_y_total", "Ys.", ["kind"]))
    hist = registry.add(Histogram("readbot_z_seconds", "Zs.", buckets=[0.5, 1]))
    plain.inc()
    labelled.inc('a"b\\c\nd')  # quotes, backslashes and newlines in a label value survive the round trip
    labelled.inc("plain", amount=2)
    for value in (0.2, 0.7, 3.0):
        hist.observe(value)
    families = {f.name: f for f in text_string_to_metric_families(registry.render())}
    assert {n: f.type for n, f in families.items()} == {
        "readbot_x": "counter",
        "readbot_x_created": "gauge",
        "readbot_y": "counter",
        "readbot_y_created": "gauge",
        "readbot_z_seconds": "histogram",
        "readbot_z_seconds_created": "gauge",
    }
    assert families["readbot_y"].documentation == "Ys."
    assert [(s.name, s.labels, s.value) for s in families["readbot_y"].samples] == [
        ("readbot_y_total", {"kind": 'a"b\\c\nd'}, 1.0),
        ("readbot_y_total", {"kind": "plain"}, 2.0),
    ]
    assert [(s.name, s.labels, s.value) for s in families["readbot_z_seconds"].samples] == [
        ("readbot_z_seconds_bucket", {"le": "0.5"}, 1.0),
        ("readbot_z_seconds_bucket", {"le": "1.0"}, 2.0),
        ("readbot_z_seconds_bucket", {"le": "+Inf"}, 3.0),
        ("readbot_z_seconds_count", {}, 3.0),
        ("readbot_z_seconds_sum", {}, 3.9),
    ]
    assert plain.value() == 1 and labelled.value("plain") == 2 and labelled.value("other") == 0 and hist.count == 3
    with pytest.raises(ValueError):
        labelled.inc()
    with pytest.raises(ValueError):
        plain.inc(amount=-1)


READBOT_FAMILIES = {  # family name (the parser drops a counter's _total) → type
    "readbot_questions_answered": "counter",
    "readbot_answer_latency_seconds": "histogram",
    "readbot_answers_not_covered": "counter",
    "readbot_votes": "counter",
    "readbot_polls_opened": "counter",
    "readbot_polls_closed": "counter",
    "readbot_prompts_posted": "counter",
    "readbot_errors": "counter",
}


def test_metrics_have_readbot_series_and_the_process_and_platform_collectors() -> None:
    metrics = PrometheusMetrics()
    metrics.answered("slack", 0.3, covered=False)
    metrics.answered("discord", 12.0, covered=True)
    metrics.vote()
    metrics.error("slack")
    families = {f.name: f for f in text_string_to_metric_families(metrics.render())}
    ours = {name: f.type for name, f in families.items() if name.startswith("readbot_")}
    assert READBOT_FAMILIES.items() <= ours.items()  # each counter also has its library-made *_created gauge
    assert {
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "process_open_fds",
        "python_info",
        "python_gc_objects_collected",
    } <= families.keys()
    assert families["python_info"].samples[0].labels["version"] == platform.python_version()
    questions = {
        s.labels["platform"]: s.value
        for s in families["readbot_questions_answered"].samples
        if s.name == "readbot_questions_answered_total"
    }
    assert questions == {"slack": 1.0, "discord": 1.0}
    assert [s.labels for s in families["readbot_answers_not_covered"].samples if s.name.endswith("_total")] == [
        {"platform": "slack"}
    ]
    buckets = {
        s.labels["le"]: s.value
        for s in families["readbot_answer_latency_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert list(buckets) == ["0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "+Inf"]
    assert buckets["0.25"] == 0 and buckets["0.5"] == 1 and buckets["10.0"] == 1 and buckets["+Inf"] == 2
    assert [s.value for s in families["readbot_votes"].samples if s.name == "readbot_votes_total"] == [1]
    assert [(s.labels, s.value) for s in families["readbot_errors"].samples if s.name == "readbot_errors_total"] == [
        ({"kind": "slack"}, 1)
    ]


def test_each_instance_has_its_own_registry_and_scrapers_may_ask_for_openmetrics() -> None:
    first, second = PrometheusMetrics(), PrometheusMetrics()  # no "duplicated timeseries" from a shared registry
    first.poll_opened()
    assert first.polls_opened.value() == 1 and second.polls_opened.value() == 0
    body, content_type = first.exposition("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert content_type.startswith("application/openmetrics-text; version=1.0.0") and body.endswith(b"# EOF\n")
    families = {f.name: f for f in openmetrics_families(body.decode())}
    assert READBOT_FAMILIES.keys() <= families.keys() and families["readbot_polls_opened"].type == "counter"
    for accept in ("", "*/*", "text/plain", "application/openmetrics-text; version=banana", "text/plain; version=x"):
        body, content_type = first.exposition(accept)  # anything else, even unreadable: the classic text format
        assert content_type == "text/plain; version=0.0.4; charset=utf-8", accept
        assert sample(body.decode(), "readbot_polls_opened_total") == 1


@pytest.fixture
def restore_root_logging() -> Any:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


SECRETS_ENV = {
    "SLACK_BOT_TOKEN": "xoxb-111-222-secretbot",
    "SLACK_APP_TOKEN": "xapp-1-A1-secretapp",
    "SLACK_SIGNING_SECRET": SECRET,
    "DISCORD_TOKEN": "MTA" + "x" * 23 + ".Gabcde.secret-discord-token-part",
    "READBOT_POLL_SECRET": POLL_SECRET,
    "READBOT_DATABASE_URL": f"postgresql://readbot:{DB_PASSWORD}@db:5432/readbot",
}


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_log_lines_are_one_per_event_and_never_carry_a_secret(log_format: str, restore_root_logging: Any) -> None:
    settings = Settings.from_env({**SECRETS_ENV, "READBOT_LOG_FORMAT": log_format}, dotenv=None)
    stream = io.StringIO()
    logs.configure(settings, stream)
    log = logging.getLogger("bot.test.ops")
    log.info("token %s and secret %s", settings.slack_bot_token, SECRET, extra={"channel": "C1", "auth": POLL_SECRET})
    log.warning("connecting to %s", settings.database_url)
    log.info("someone pasted xoxb-999-888-unconfigured and xapp-9-Z-unconfigured")
    try:
        raise RuntimeError(f"discord said no to {settings.discord_token}\nsecond line")
    except RuntimeError:
        log.exception("failed with %s", settings.slack_app_token)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4, lines
    text = stream.getvalue()
    tokens = [v for k, v in SECRETS_ENV.items() if k != "READBOT_DATABASE_URL"]
    for secret in [*tokens, DB_PASSWORD, "xoxb-999-888-unconfigured", "xapp-9-Z-unconfigured"]:
        assert secret not in text, secret
    assert "[redacted]" in lines[0] and "postgresql://readbot:[redacted]@db:5432/readbot" in lines[1]
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
        assert records[0]["channel"] == "C1" and records[0]["auth"] == "[redacted]"
        assert records[0]["logger"] == "bot.test.ops" and records[1]["level"] == "WARNING"
        assert "RuntimeError" in records[3]["exc"] and "second line" in records[3]["exc"]
    else:
        assert re.match(r"^\S+ \S+ INFO bot\.test\.ops: token \[redacted\]", lines[0])
        assert "Traceback" in lines[3] and "\\nRuntimeError" in lines[3]


def test_json_log_records_parse_with_todays_fields_and_redacted_stacks(restore_root_logging: Any) -> None:
    settings = Settings.from_env({**SECRETS_ENV, "READBOT_LOG_FORMAT": "json"}, dotenv=None)
    stream = io.StringIO()
    handler = logs.configure(settings, stream)
    assert isinstance(handler.formatter, logs.JsonFormatter)
    log = logging.getLogger("bot.test.json")
    log.info("Umfrage „Weiß nicht“ geschlossen", extra={"poll": 7, "voters": ["u1", "u2"], "_private": "x"})
    log.warning("about to use %s", settings.slack_signing_secret, stack_info=True)
    try:
        raise ValueError(f"bad token {settings.slack_bot_token}")
    except ValueError:
        log.error("plain error, no secret", exc_info=True)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "time": first["time"],
        "level": "INFO",
        "logger": "bot.test.json",
        "message": "Umfrage „Weiß nicht“ geschlossen",
        "poll": 7,
        "voters": ["u1", "u2"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"]), first["time"]
    assert "Weiß" in stream.getvalue()  # not escaped to \\u00df
    assert second["message"] == "about to use [redacted]" and "Stack (most recent call last)" in second["stack"]
    assert "exc" not in second and "stack" not in third
    assert third["exc"].startswith("Traceback") and "ValueError: bad token [redacted]" in third["exc"]
    assert settings.slack_bot_token not in stream.getvalue() and SECRET not in stream.getvalue()


# ============================================================================ endpoints, in process


@pytest_asyncio.fixture
async def running(tmp_path: Path, knowledge_service: Any) -> AsyncIterator[tuple[Any, ...]]:
    """The real core (session knowledge service, SQLite in tmp), a console adapter, metrics wired in,
    and the endpoints on their own server on a free loopback port."""
    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path), "READBOT_MODERATORS": MOD.id}, dotenv=None)
    metrics = PrometheusMetrics()
    counter = ErrorCounter(metrics)
    logging.getLogger().addHandler(counter)
    health = ops.Health([])

    async def boom(event: Any, responder: Any) -> None:
        raise RuntimeError("handler bug")

    bug = Feature("bug", commands=((CommandSpec("boom", "fails"), boom),))
    server = await ops.serve(health, metrics, 0, host="127.0.0.1")
    try:
        async with open_app(
            settings,
            knowledge=knowledge_service,
            metrics=metrics,
            health=health,
            extra_features=[bug],
            run_tasks=False,
            adapters=[lambda kit: ConsoleAdapter(kit.dispatcher, io.StringIO(), user=User("member-1", "Member"))],
        ) as app:
            yield app, app.adapters[0], health, f"http://127.0.0.1:{ops.port_of(server)}"
    finally:
        logging.getLogger().removeHandler(counter)
        await server.cleanup()


async def say(adapter: ConsoleAdapter, user: User, line: str) -> None:
    adapter.user = user
    await adapter.handle_line(line)


@pytest.mark.asyncio
async def test_endpoints_report_health_readiness_and_what_the_core_did(running: tuple[Any, ...]) -> None:
    core, adapter, health, base = running
    assert await get(f"{base}/healthz") == (200, "text/plain; charset=utf-8", "ok")
    status, _, body = await get(f"{base}/readyz")
    assert status == 200 and json.loads(body) == {
        "ready": True,
        "failed": [],
        "checks": {"index": "ok", "database": "ok"},
        "outbox": {"pending": 0, "failed": 0, "oldest_pending_seconds": None},
    }

    await say(adapter, User("member-1"), VIBE)
    await say(adapter, User("member-1"), NOT_COVERED)
    await say(adapter, MOD, "/poll Humans should merge with AI to keep their agency. duration=5m")
    for user, button in (("u1", 2), ("u2", 4)):
        await say(adapter, User(user), f"click {button}")
    await say(adapter, MOD, "/poll close")
    await core.prompts.post_now(Channel("console", "reading-group"))
    await say(adapter, User("member-1"), "/boom")  # the dispatcher logs it and apologises

    status, content_type, text = await get(f"{base}/metrics")
    assert status == 200 and content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert sample(text, "readbot_questions_answered_total", '{platform="console"}') == 2
    assert sample(text, "readbot_answers_not_covered_total", '{platform="console"}') == 1
    assert sample(text, "readbot_answer_latency_seconds_count") == 2
    assert 0 < sample(text, "readbot_answer_latency_seconds_sum") < 60
    assert sample(text, "readbot_answer_latency_seconds_bucket", '{le="+Inf"}') == 2
    assert sample(text, "readbot_polls_opened_total") == 1
    assert sample(text, "readbot_votes_total") == 2
    assert sample(text, "readbot_polls_closed_total") == 1
    assert sample(text, "readbot_prompts_posted_total") == 1
    assert sample(text, "readbot_errors_total", '{kind="handler"}') == 1
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert READBOT_FAMILIES.items() <= families.items()
    assert families["process_resident_memory_bytes"] == "gauge" and "python_info" in families
    status, content_type, text = await get(f"{base}/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    assert status == 200 and content_type.startswith("application/openmetrics-text; version=1.0.0")
    votes = next(f for f in openmetrics_families(text) if f.name == "readbot_votes")
    assert [s.value for s in votes.samples if s.name == "readbot_votes_total"] == [2]

    health.platforms = ["discord"]  # a platform whose adapter never started
    status, _, body = await get(f"{base}/readyz")
    assert status == 503 and json.loads(body)["failed"] == ["discord"]
    assert json.loads(body)["checks"]["discord"] == "adapter not started"
    health.platforms = []
    down = "postgresql+asyncpg://readbot:pw@127.0.0.1:1/readbot"  # unreachable: nothing listens on port 1
    health.watch_database(Database(create_async_engine(down, pool_pre_ping=True), down))
    status, _, body = await get(f"{base}/readyz")
    assert status == 503 and json.loads(body)["failed"] == ["database"]
    assert json.loads(body)["checks"]["database"].startswith("SELECT 1 failed: ")
    starting = ops.Health([])  # a process still starting (index not loaded, no database), and stopping
    starting.stop()
    assert [name for name, state in (await starting.checks()).items() if state != "ok"] == [
        "index",
        "database",
        "shutdown",
    ]


class _HangingConsole(ConsoleAdapter):
    """A platform whose connection state never comes back (a wedged client)."""

    async def connected(self) -> bool:
        await asyncio.Event().wait()
        return True


@pytest.mark.asyncio
async def test_a_probe_with_every_check_stuck_answers_within_one_check_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database locked by another writer and the platform wedged: /readyz says so within about
    one ``CHECK_TIMEOUT``, not the sum of the checks' timeouts nor SQLite's own wait for a lock (a
    probe that outwaits its caller reads as a dead process), and is ready again once the lock is
    released."""
    import sqlite3

    monkeypatch.setattr(ops, "CHECK_TIMEOUT", 1.0)
    db = await Database.open(database_url("", tmp_path))
    health = ops.Health([])
    health.watch_database(db)
    assert (await health.checks())["database"] == "ok"  # the database in WAL mode, as once running
    locker = sqlite3.connect(tmp_path / "readbot.db", isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held by another connection
        health.platforms = ["console"]
        health.watch_adapter(_HangingConsole(Any, io.StringIO()))  # type: ignore[arg-type]
        for _ in range(2):  # the second probe waits on the first one's run, it doesn't queue another
            started = time.monotonic()
            checks = await health.checks()
            took = time.monotonic() - started
            assert checks["database"] == "database did not answer within 1 s", checks
            assert checks["console"] == "connection state unknown: TimeoutError", checks
            assert took < 1.8, took  # checks in turn would take 2 s; SQLite's own wait for the lock, 10 s
        locker.rollback()  # the other writer is done: the database is ready again by itself
        for _ in range(30):
            if (await health.checks())["database"] == "ok":
                break
        assert (await health.checks())["database"] == "ok"
    finally:
        locker.close()
        await db.close()


# ============================================================================ readbot run: one port, JSON logs, SIGTERM


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"readbot run exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            status, _, body = await get(f"{base}/readyz")
            if status == 200:
                return dict(json.loads(body))
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    pytest.fail(f"/readyz was not 200 within {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.mark.asyncio
async def test_run_serves_ops_on_the_slack_port_logs_json_and_exits_0_on_sigterm(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "readbot.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeSlackAPI() as fake:
        env = {
            **cli_env,
            "READBOT_DATA_DIR": str(tmp_path / "data"),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_HTTP_PORT": str(port),
            "READBOT_LOG_LEVEL": "DEBUG",
            "READBOT_LOG_FORMAT": "json",
            "READBOT_POLL_SECRET": POLL_SECRET,
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
            ready = await wait_ready(base, proc, log)
            assert ready["checks"] == {"index": "ok", "database": "ok", "slack": "ok"}
            assert await get(f"{base}/healthz") == (200, "text/plain; charset=utf-8", "ok")

            first = await send_app_mention(f"{base}/slack/events", SECRET, VIBE, channel="COPS1")
            assert first.status == 200
            await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == "COPS1", timeout=60)
            _, _, text = await get(f"{base}/metrics")
            assert sample(text, "readbot_questions_answered_total", '{platform="slack"}') == 1

            # a question in flight when SIGTERM arrives is still answered; then exit 0 within the bound
            second = await send_app_mention(f"{base}/slack/events", SECRET, VIBE, channel="COPS2")
            assert second.status == 200
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(proc.wait, SHUTDOWN_BOUND)
            took = time.monotonic() - started
            assert code == 0, log.read_text(errors="replace")[-3000:]
            assert took < SHUTDOWN_BOUND
            assert fake.calls_to("chat.postMessage")[-1].args.get("channel") == "COPS2"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    output = log.read_text(errors="replace")
    records = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    messages = [r["message"] for r in records]
    assert "shutting down" in messages and messages[-1] == "stopped"
    for secret in (DEFAULT_BOT_TOKEN, SECRET, POLL_SECRET):
        assert secret not in output
    assert not any(r["level"] == "ERROR" for r in records), [r for r in records if r["level"] == "ERROR"]


@pytest.mark.asyncio
async def test_run_on_discord_serves_ops_on_its_own_server_and_exits_0_on_sigterm(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "readbot.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = "MTIz.fake.token"
    fake = FakeDiscord(token)
    await fake.start()
    env = {
        **cli_env,
        "READBOT_DATA_DIR": str(tmp_path / "data"),
        "DISCORD_TOKEN": token,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "READBOT_HTTP_PORT": str(port),
    }
    try:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--platform", "discord"],
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            ready = await wait_ready(base, proc, log)
            assert ready["checks"] == {"index": "ok", "database": "ok", "discord": "ok"}
            status, _, text = await get(f"{base}/metrics")
            assert status == 200 and sample(text, "readbot_polls_opened_total") == 0
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, SHUTDOWN_BOUND) == 0, log.read_text(errors="replace")[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        await fake.stop()
    output = log.read_text(errors="replace")
    assert token not in output and "Traceback" not in output
    assert len(output.splitlines()) == len([ln for ln in output.splitlines() if re.match(r"^\S+ \S+ [A-Z]+ ", ln)])


# ============================================================================ readbot doctor


LINE = re.compile(r"^(ok   [a-z ]+( \(.*\))?|fail [a-z ]+: .+)$")


def test_doctor_on_a_fresh_data_dir_says_to_ingest(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {
        **cli_env,
        "READBOT_DATA_DIR": str(tmp_path / "data"),
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    assert [re.split(r": | \(", line[5:])[0] for line in lines] == [
        "settings",
        "tokens",
        "config",
        "prompt bank",
        "claim bank",
        "readings",
        "data dir",
        "model",
        "tokenizer",
        "reranker",
        "chroma",
        "index",
        "syllabus",
        "database",
    ]
    assert lines[:2] == ["ok   settings", "ok   tokens"]
    assert lines[2] == "ok   config (no readbot.toml: no scheduled prompts (readbot.example.toml shows how))"
    assert all(line.startswith("ok   ") for line in lines[3:6]), lines  # the shipped banks and reading
    assert lines[6:11] == ["ok   data dir", "ok   model", "ok   tokenizer", "ok   reranker", "ok   chroma"]
    assert lines[11].startswith("fail index:") and "run readbot ingest" in lines[11]
    assert lines[12] == "ok   syllabus (no [[syllabus]] in readbot.toml)"
    assert lines[13].startswith("fail database:")
    assert DEFAULT_BOT_TOKEN not in done.stdout + done.stderr and SECRET not in done.stdout + done.stderr
    assert not done.stderr


def doctor(env: dict[str, str]) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_doctor(out, lambda: Settings.from_env(env, dotenv=None))
    return code, out.getvalue().splitlines()


@pytest.mark.asyncio
async def test_doctor_after_ingest_and_migration_is_all_ok(session_data_dir: Path, knowledge_service: Any) -> None:
    # knowledge_service has ingested the reading into session_data_dir; bring its database up to date
    db = await Database.open(database_url("", session_data_dir))
    await db.close()
    code, lines = await asyncio.to_thread(doctor, {"READBOT_DATA_DIR": str(session_data_dir)})
    assert code == 0, lines
    assert "ok   index" in lines and "ok   database" in lines
    assert all(line.startswith("ok   ") for line in lines), lines


def test_doctor_names_a_bad_database_url_without_its_password(session_data_dir: Path, knowledge_service: Any) -> None:
    env = {"READBOT_DATA_DIR": str(session_data_dir)}
    code, lines = doctor({**env, "READBOT_DATABASE_URL": f"postgresql://readbot:{DB_PASSWORD}@127.0.0.1:1/readbot"})
    assert code == 1
    failed = [line for line in lines if line.startswith("fail")]
    assert len(failed) == 1 and failed[0].startswith("fail database: can't reach the database"), lines
    assert "READBOT_DATABASE_URL" in failed[0] and DB_PASSWORD not in "\n".join(lines)
    code, lines = doctor({**env, "READBOT_DATABASE_URL": "mysql://u:p@127.0.0.1/x"})
    assert code == 1 and "fail database: READBOT_DATABASE_URL uses 'mysql'" in "\n".join(lines)


def test_doctor_with_unreadable_settings_fails_in_one_line() -> None:
    code, lines = doctor({"READBOT_HTTP_PORT": "not-a-port"})
    assert code == 1 and lines == ["fail settings: READBOT_HTTP_PORT='not-a-port': expected a whole number"]


def test_errors_are_counted_by_kind_warnings_are_not() -> None:
    metrics = PrometheusMetrics()
    counter = ErrorCounter(metrics)
    root = logging.getLogger()
    root.addHandler(counter)
    try:
        for name, level in (
            ("bot.prompts.scheduler", logging.ERROR),
            ("bot.adapters.discord.x", logging.CRITICAL),
            ("bot.core.dispatcher", logging.WARNING),
            ("somelib", logging.ERROR),
        ):
            logging.getLogger(name).log(level, "test record")
    finally:
        root.removeHandler(counter)
    assert [metrics.errors.value(k) for k in ("prompts", "discord", "handler", "other")] == [1, 1, 0, 1]


# ---------------------------------------------------------------- doctor reads every file start-up loads


def failed_line(lines: list[str], check: str) -> str:
    found = [line for line in lines if line.startswith(f"fail {check}: ")]
    assert len(found) == 1, lines
    return found[0][len(f"fail {check}: ") :]


def test_doctor_fails_on_a_bad_cron_with_the_line_start_up_stops_with(cli_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "readbot.toml"
    config.write_text('[[schedule]]\nplatform = "slack"\nchannel = "C1"\ncron = "0 25 * * *"\n', encoding="utf-8")
    env = {**cli_env, "READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_CONFIG": str(config)}

    def readbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    checked = readbot("doctor")
    assert checked.returncode == 1 and "Traceback" not in checked.stdout + checked.stderr
    line = failed_line(checked.stdout.splitlines(), "config")
    assert "schedule #1 (slack C1)" in line and "0 25 * * *" in line
    started = readbot("prompts", "preview")  # start-up stops with the same line
    assert started.returncode == 2 and started.stderr.strip() == f"readbot: {line}"


@pytest.mark.parametrize(
    ("bank", "text", "expected"),
    [
        (
            "prompt",
            "questions:\n  - id: q1\n    question: Why?\n    section: Summary\n",
            "question #1 (q1): missing 'passage'",
        ),
        ("prompt", "questions:\n  - id: q1\n    question: [unclosed\n", "not valid YAML at line"),
        ("prompt", "questions: []\n", "the question bank is empty"),
        (
            "claim",
            "claims:\n  - id: c1\n    claim: ''\n    section: S\n    passage: P\n",
            "claim #1 (c1): 'claim' must be",
        ),
        ("claim", "claims: {not: a list}\n", "expected a list of claims under 'claims:'"),
        (
            "claim",
            "claims:\n  - id: c1\n    claim: A\n    section: S\n    passage: P\n" * 1 + "  - id: c1\n    claim: B\n"
            "    section: S\n    passage: P\n",
            "claim #2 (c1): the id 'c1' is used twice",
        ),
    ],
)
@pytest.mark.asyncio
async def test_doctor_fails_on_a_broken_bank_with_the_line_start_up_stops_with(
    bank: str, text: str, expected: str, tmp_path: Path, knowledge_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.errors import ConfigError
    from bot.polls import claims
    from bot.prompts import bank as prompts_bank

    broken = tmp_path / f"{bank}s.yaml"
    broken.write_text(text, encoding="utf-8")
    if bank == "prompt":
        monkeypatch.setattr(prompts_bank, "DISCUSSION_PATH", broken)
    else:
        monkeypatch.setattr(claims, "CLAIMS_PATH", broken)
    env = {"READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_CONFIG": str(tmp_path / "none.toml")}
    code, lines = await asyncio.to_thread(doctor, env)
    assert code == 1
    line = failed_line(lines, f"{bank} bank")
    assert line.startswith(str(broken)) and expected in line, line
    other = "claim bank" if bank == "prompt" else "prompt bank"
    assert any(found.startswith(f"ok   {other} (") for found in lines), lines  # only the broken one fails
    with pytest.raises(ConfigError) as stopped:  # start-up: the same line, nothing opened for traffic
        async with open_app(Settings.from_env(env, dotenv=None), knowledge=knowledge_service, run_tasks=False):
            pass
    assert str(stopped.value) == line


def test_doctor_names_each_reading_file_that_cannot_be_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "good.md").write_text("# Part 1\n\nA reading with some text in it.\n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Caf\xe9 au lait, a reading in Latin-1.\n".encode("latin-1"))
    (folder / "empty.txt").write_text("   \n\n", encoding="utf-8")
    env = {
        "READBOT_DATA_DIR": str(tmp_path / "data"),
        "READBOT_CONFIG": str(tmp_path / "none.toml"),
        "READBOT_KNOWLEDGE_DIR": str(folder),
    }
    code, lines = doctor(env)
    assert code == 1
    line = failed_line(lines, "readings")
    assert f"{folder / 'latin1.txt'}: not UTF-8 text" in line and f"{folder / 'empty.txt'}: no text to index" in line
    assert "good.md" not in line
    (folder / "latin1.txt").unlink()
    (folder / "empty.txt").unlink()
    code, lines = doctor(env)
    assert "ok   readings (1 file in " in "\n".join(lines), lines
    code, lines = doctor({**env, "READBOT_KNOWLEDGE_DIR": str(tmp_path / "nowhere")})
    assert "READBOT_KNOWLEDGE_DIR" in failed_line(lines, "readings")


def test_doctor_checks_the_syllabus_as_start_up_does(
    session_data_dir: Path, knowledge_service: Any, tmp_path: Path
) -> None:
    from bot.app import CURATED_READING

    config = tmp_path / "readbot.toml"
    env = {"READBOT_DATA_DIR": str(session_data_dir), "READBOT_CONFIG": str(config)}
    entry = '[[syllabus]]\nplatform = "slack"\nchannel = "C1"\ntimezone = "Europe/Berlin"\nreadings = [{}]\n'
    config.write_text(entry.format(f'{{ reading = "{CURATED_READING}", start = "2027-01-04" }}'), encoding="utf-8")
    _, lines = doctor(env)
    assert any(line.startswith("ok   syllabus (1 channel, 1 reading planned)") for line in lines), lines
    config.write_text(entry.format('{ reading = "no-such-story", start = "2027-01-04" }'), encoding="utf-8")
    code, lines = doctor(env)
    assert code == 1
    line = failed_line(lines, "syllabus")
    assert "unknown reading 'no-such-story'" in line and CURATED_READING in line
    config.write_text(entry.format(f'{{ reading = "{CURATED_READING}", start = "2027-13-04" }}'), encoding="utf-8")
    code, lines = doctor(env)
    assert code == 1 and "2027-13-04" in failed_line(lines, "syllabus")
