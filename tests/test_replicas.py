"""Two replicas, one database: two ``readbot run --platform slack`` processes on one PostgreSQL
database and one Chroma server, both receiving traffic from one (fake) Slack.

The issue: "Start two readbot processes on one PostgreSQL database and one Chroma server, both
receiving traffic: every question is answered once, a daily prompt slot is posted once, votes on
one poll from both are counted once each, and a poll closes once. A test proves it."

Everything is real except Slack: the ``chroma`` server of the installed chromadb package on
loopback (indexed once with ``readbot ingest``), a fresh database on the local PostgreSQL
(``tests.polls_support.postgres_url``), two ``python -m bot.cli run --platform slack`` processes
in HTTP mode on two free ports with the same settings (their own data dirs), and one
``tests.fakes.slack_server.FakeSlackAPI`` that both post to.

* questions: distinct ``app_mention`` events alternate between the replicas; some are delivered
  again as Slack retries (same event id, ``X-Slack-Retry-Num: 1``) to the *other* replica, as
  when the first delivery's acknowledgement got lost: each question gets exactly one reply;
* a poll: a moderator's ``/poll`` on replica A, votes spread over A and B (people changing their
  vote on the other replica, or repeating it there): the tally (``readbot polls export``) is each
  person's last vote, once; the Close button pressed on both replicas at the same moment: one
  results post, one chart upload, the card finalised (no buttons);
* a daily prompt: readbot.toml has a ``* * * * *`` schedule for one channel and both replicas run
  their schedulers on the real clock: the first whole minute after both are ready is posted once,
  and no minute is posted twice.

The clock is real (the schedule's minute comes round by itself), so the phases run while the
test waits for it; the whole test takes 55-100 s on a 2-core machine (the wait for the minute varies).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    RecordedCall,
    new_event_id,
    new_ts,
    send_app_mention,
    send_block_action,
    send_slash_command,
)
from tests.polls_support import postgres_url

pytestmark = pytest.mark.asyncio

SECRET = "readbot-replicas-signing-secret"
POLL_SECRET = "replicas-poll-secret-0123456789"
QUESTIONS_CHANNEL, POLL_CHANNEL, PROMPT_CHANNEL = "C0REPLQ01", "C0REPLP01", "C0REPLD01"
MOD = "U0REPLMOD"
VOTERS = tuple(f"U0REPLV{i}" for i in range(1, 6))
CLAIM = "Pre-training data will run out before models generalize like people."
QUESTIONS = (
    "What does Ilya say about vibe coding?",
    "Why do models do well on evals but worse in real use?",
    "What is the difference between the age of scaling and the age of research?",
    "How does Ilya think about value functions?",
    "What does Ilya say about emotions and decision making?",
    "Why do humans generalize better than models?",
    "What does Ilya say about pre-training?",
    "What is SSI's plan?",
    "What does Ilya say about superintelligence and continual learning?",
    "What does Ilya think about research taste?",
)
RETRIED = (0, 3, 4, 7)  # these questions are delivered again, as retries, to the other replica
START_TIMEOUT = 120.0  # seconds for the Chroma server / a replica to be ready
SETTLE = 3.0  # seconds to wait for a duplicate that should not come
PROMPT_MARGIN = 5.0  # the first slot at least this long after both replicas are ready is checked


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TimedSlack(FakeSlackAPI):
    """The fake Web API, noting the wall-clock time each call was recorded."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recorded_at: dict[int, float] = {}

    async def _record(self, call: RecordedCall) -> None:
        self.recorded_at[id(call)] = time.time()
        await super()._record(call)

    def posts(self, channel: str) -> list[RecordedCall]:
        return [c for c in self.calls_to("chat.postMessage") if c.args.get("channel") == channel]


@dataclass
class Replica:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events(self) -> str:
        return f"{self.base}/slack/events"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


async def until(predicate: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


async def _ready(base: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"{base}/readyz") as resp,
        ):
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@asynccontextmanager
async def chroma_server(cli_env: dict[str, str], root: Path) -> AsyncIterator[str]:
    """A real Chroma server (the installed ``chroma`` command) on a free loopback port; its URL."""
    exe = Path(sys.executable).parent / "chroma"
    assert exe.exists(), f"{exe} is missing: the chromadb package ships the `chroma` command"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "chroma.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(exe), "run", "--path", str(root / "chroma-db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=cli_env,
            cwd=root,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not await asyncio.to_thread(_heartbeat, url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"chroma server did not come up (exit {proc.poll()}):\n{log.read_text(errors='replace')[-2000:]}"
                )
            await asyncio.sleep(0.2)
        yield url
    finally:
        await asyncio.to_thread(stop, proc, signal.SIGTERM, 10)


@asynccontextmanager
async def replicas(env: dict[str, str], root: Path, names: tuple[str, ...]) -> AsyncIterator[list[Replica]]:
    """``readbot run --platform slack`` once per name, all started at once; yields when all are ready."""
    started: list[Replica] = []
    try:
        for name in names:
            port = free_port()
            data_dir = root / f"data-{name}"
            log = root / f"replica-{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "run", "--platform", "slack"],
                    env={**env, "READBOT_HTTP_PORT": str(port), "READBOT_DATA_DIR": str(data_dir)},
                    cwd=root,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            started.append(Replica(name, port, proc, log))
        deadline = time.monotonic() + START_TIMEOUT
        for replica in started:
            while not await _ready(replica.base):
                if replica.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"replica {replica.name} was not ready (exit {replica.proc.poll()}):\n"
                        f"{replica.output()[-3000:]}"
                    )
                await asyncio.sleep(0.2)
        yield started
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop, r.proc) for r in started))


def buttons_of(call: RecordedCall) -> list[dict[str, Any]]:
    return [e for b in call.args.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def counts(call: RecordedCall) -> dict[str, int]:
    """{option: votes} from a card's or results' text ("Agree: 2 (67%) ██…")."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(.+?): (\d+) \(\d+%\)", call.args["text"], re.MULTILINE)}


async def test_two_replicas_share_one_database_and_one_chroma_server(cli_env: dict[str, str], tmp_path: Path) -> None:
    async with postgres_url() as db_url, TimedSlack() as fake, chroma_server(cli_env, tmp_path) as chroma_url:
        fake.add_user(MOD, "mona")
        for voter in VOTERS:
            fake.add_user(voter, voter.lower())
        config = tmp_path / "readbot.toml"
        config.write_text(
            f'[[schedule]]\nplatform = "slack"\nchannel = "{PROMPT_CHANNEL}"\ncron = "* * * * *"\ntimezone = "UTC"\n',
            encoding="utf-8",
        )
        env = {
            **cli_env,
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_POLL_SECRET": POLL_SECRET,
            "READBOT_MODERATORS": MOD,
            "READBOT_CHROMA_URL": chroma_url,
            "READBOT_DATABASE_URL": db_url,
            "READBOT_CONFIG": str(config),
            "READBOT_LOG_LEVEL": "INFO",
        }

        # the index, once, in the Chroma server (not in either replica's data dir)
        ingest = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot.cli", "ingest"],
            capture_output=True,
            text=True,
            env={**env, "READBOT_DATA_DIR": str(tmp_path / "data-ingest")},
            cwd=tmp_path,
            timeout=180,
            check=False,
        )
        assert ingest.returncode == 0, ingest.stderr
        assert "1 added" in ingest.stdout, ingest.stdout

        async with replicas(env, tmp_path, ("a", "b")) as (a, b):
            ready_at = time.time()
            slot = math.ceil((ready_at + PROMPT_MARGIN) / 60) * 60  # the minute both schedulers wait for
            await questions_are_answered_once(fake, a, b)
            await votes_count_once_and_the_poll_closes_once(fake, a, b, env, tmp_path)
            await prompt_slot_is_posted_once(fake, slot)
            for replica in (a, b):
                assert "Traceback" not in replica.output(), replica.output()[-3000:]
            assert not (tmp_path / "data-a" / "chroma").exists() and not (tmp_path / "data-b" / "chroma").exists()


async def questions_are_answered_once(fake: TimedSlack, a: Replica, b: Replica) -> None:
    """Questions alternate between the replicas; retries of some go to the other one."""
    pair = (a, b)

    async def ask(i: int, question: str) -> str:
        ts, event_id = new_ts(), new_event_id()
        first = await send_app_mention(
            pair[i % 2].events,
            SECRET,
            question,
            channel=QUESTIONS_CHANNEL,
            user=VOTERS[i % len(VOTERS)],
            ts=ts,
            event_id=event_id,
        )
        assert first.status == 200, first
        if i in RETRIED:  # Slack did not see that ack: it delivers the same event to the other replica
            again = await send_app_mention(
                pair[(i + 1) % 2].events,
                SECRET,
                question,
                channel=QUESTIONS_CHANNEL,
                user=VOTERS[i % len(VOTERS)],
                ts=ts,
                event_id=event_id,
                retry_num=1,
                retry_reason="http_timeout",
            )
            assert again.status == 200, again
        return ts

    asked = await asyncio.gather(*(ask(i, q) for i, q in enumerate(QUESTIONS)))

    def replies_to(ts: str) -> list[RecordedCall]:
        return [
            c
            for c in fake.calls
            if c.method in ("chat.postMessage", "chat.postEphemeral")
            and c.args.get("channel") == QUESTIONS_CHANNEL
            and c.args.get("thread_ts") == ts
        ]

    await until(lambda: all(replies_to(ts) for ts in asked), "every question to be answered", 60)
    await asyncio.sleep(SETTLE)  # a second answer would come now
    answers = {QUESTIONS[i]: len(replies_to(ts)) for i, ts in enumerate(asked)}
    assert answers == dict.fromkeys(QUESTIONS, 1), {q: n for q, n in answers.items() if n != 1}
    assert all(c.method == "chat.postMessage" for ts in asked for c in replies_to(ts))  # public answers
    handled = [len(re.findall(r"slack app_mention Ev", r.output())) for r in (a, b)]
    assert all(handled), f"both replicas took questions: {handled}"


async def votes_count_once_and_the_poll_closes_once(
    fake: TimedSlack, a: Replica, b: Replica, env: dict[str, str], tmp_path: Path
) -> None:
    resp = await send_slash_command(
        a.events, SECRET, "/poll", CLAIM, user_id=MOD, channel_id=POLL_CHANNEL, response_url=fake.new_response_url()
    )
    assert resp.status == 200
    card = await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == POLL_CHANNEL, 30)
    card_ts = str(card.response["ts"])
    buttons = {btn["text"]["text"]: btn for btn in buttons_of(card)}
    poll_id = buttons["Close poll"]["value"]

    def private_to(user: str) -> list[str]:
        return [
            c.args["text"]
            for c in fake.calls_to("chat.postEphemeral")
            if c.args.get("channel") == POLL_CHANNEL and c.args.get("user") == user
        ]

    # each person's clicks in order (each answered before the next), people at the same time
    plan = {
        VOTERS[0]: ((a, "Agree"), (b, "Disagree")),  # changes their vote on the other replica
        VOTERS[1]: ((b, "Unsure"),),
        VOTERS[2]: ((a, "Strongly agree"), (b, "Strongly agree")),  # the same vote again, elsewhere
        VOTERS[3]: ((b, "Agree"), (a, "Unsure"), (b, "Agree")),  # back and forth
        VOTERS[4]: ((a, "Agree"),),
    }

    async def vote(user: str, clicks: tuple[tuple[Replica, str], ...]) -> None:
        for n, (replica, label) in enumerate(clicks, start=1):
            button = buttons[label]
            sent = await send_block_action(
                replica.events,
                SECRET,
                button["action_id"],
                button["value"],
                user_id=user,
                channel_id=POLL_CHANNEL,
                message_ts=card_ts,
            )
            assert sent.status == 200
            await until(lambda: len(private_to(user)) >= n, f"{user}'s vote {n} to be confirmed", 20)  # noqa: B023

    await asyncio.gather(*(vote(user, clicks) for user, clicks in plan.items()))
    assert private_to(VOTERS[0]) == ["Thanks, your vote “Agree” is counted.", "Vote changed: you now say “Disagree”."]
    assert private_to(VOTERS[2]) == [
        "Thanks, your vote “Strongly agree” is counted.",
        "You already voted “Strongly agree”; it's counted.",
    ]
    assert private_to(VOTERS[3])[-1] == "Vote changed: you now say “Agree”."
    final = {"Strongly agree": 1, "Agree": 2, "Unsure": 1, "Disagree": 1, "Strongly disagree": 0}

    exported = await export(env, tmp_path, poll_id)
    assert (exported["status"], exported["counts"], exported["voters"]) == ("open", final, 5), exported
    assert len(exported["votes"]) == 5

    # a moderator presses Close on both replicas at the same moment
    close = buttons["Close poll"]
    both = await asyncio.gather(
        *(
            send_block_action(
                r.events,
                SECRET,
                close["action_id"],
                close["value"],
                user_id=MOD,
                channel_id=POLL_CHANNEL,
                message_ts=card_ts,
            )
            for r in (a, b)
        )
    )
    assert [r.status for r in both] == [200, 200]
    await until(lambda: len(private_to(MOD)) >= 2, "both close clicks to be answered", 30)
    await fake.wait_for_call("files.completeUploadExternal", lambda c: c.args.get("channel_id") == POLL_CHANNEL, 30)
    await asyncio.sleep(SETTLE)  # a second results post, or a late live edit, would come now
    assert sorted(private_to(MOD)) == ["Poll closed; results are posted.", "This poll is already closed."]
    results = [c for c in fake.posts(POLL_CHANNEL) if c.args["text"].startswith("Results: ")]
    assert len(results) == 1, [c.args["text"][:80] for c in results]
    assert counts(results[0]) == final and "5 voters" in results[0].args["text"]
    uploads = [c for c in fake.calls_to("files.completeUploadExternal") if c.args.get("channel_id") == POLL_CHANNEL]
    assert len(uploads) == 1 and len(fake.posts(POLL_CHANNEL)) == 2  # the card and the results, nothing else
    edits = [c for c in fake.calls_to("chat.update") if c.args.get("ts") == card_ts]
    assert edits and buttons_of(edits[-1]) == [] and counts(edits[-1]) == final  # the final card stays final
    assert "closed" in edits[-1].args["text"]
    exported = await export(env, tmp_path, poll_id)
    assert (exported["status"], exported["counts"]) == ("closed", final), exported


async def export(env: dict[str, str], tmp_path: Path, poll_id: str) -> dict[str, Any]:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "polls", "export", "--poll", poll_id, "--format", "json"],
        capture_output=True,
        text=True,
        env={**env, "READBOT_DATA_DIR": str(tmp_path / "data-export")},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    return dict(record)


async def prompt_slot_is_posted_once(fake: TimedSlack, slot: float) -> None:
    """Both schedulers run on the real clock: the slot is posted once, and no minute twice."""

    def top_level_posts() -> list[RecordedCall]:
        return [c for c in fake.posts(PROMPT_CHANNEL) if not c.args.get("thread_ts")]

    left = slot - time.time()
    assert left < 70, f"the prompt slot is {left:.0f} s away: the phases before it took too long"
    await until(
        lambda: any(fake.recorded_at[id(c)] >= slot for c in top_level_posts()),
        f"the prompt for {time.strftime('%H:%M', time.gmtime(slot))} UTC",
        max(left, 0) + 30,
    )
    await asyncio.sleep(SETTLE)  # the other replica's scheduler is awake for the same minute
    minutes: dict[int, int] = {}
    for call in top_level_posts():
        minute = int(fake.recorded_at[id(call)] // 60)
        minutes[minute] = minutes.get(minute, 0) + 1
    assert minutes.get(int(slot // 60)) == 1, minutes
    assert all(n == 1 for n in minutes.values()), minutes
