"""Load benchmark of readbot's chat path: Slack and Discord at once, against the local fakes.

    python benchmarks/bench_chat.py [--askers 50] [--channels 10] [--slash-every 5] [--cold]
                                    [--heartbeat-ms 1000] [--fakes-in-loop] [--workers N]
                                    [--stacks MS] [--profile N]

The issue: "With 50 simulated askers across 10 channels on each platform at once (fake
servers), every question answered once; p50/p95 from event to reply; the event loop's
largest lag while answering (Discord's heartbeat must never starve)."

One process, wired like ``readbot run --platform all``: ``open_app`` once (the bundled
model, a real Chroma index of the shipped reading in a temporary data dir, warmed before
traffic; the database; the features), building a ``SlackAdapter`` (HTTP mode on a free
loopback port, SLACK_API_URL → the fake Web API) and a ``DiscordAdapter`` (the real discord.py
client → the fake REST API and gateway, the features' slash commands) started in the same event
loop, plus the features' background tasks (the poll-deadline watcher, the prompt scheduler with
no schedules).

The "platform side" (``tests.fakes`` Slack Web API and Discord REST + gateway, and the
askers) runs by default in a second thread with its own event loop, so the bot's loop does
only what it does in production; ``--fakes-in-loop`` puts them in the bot's loop, as the
adapter tests do (then the lag includes the fakes' own work).

* Slack: ``--askers`` signed ``app_mention`` events spread over ``--channels`` channels;
  a reply is a ``chat.postMessage`` in the question's thread (``thread_ts`` = its ts) or a
  ``chat.postEphemeral`` to the asker there (an input error). Ack = the HTTP answer to the event.
* Discord: ``--askers`` questions over ``--channels`` text channels, every ``--slash-every``-th
  an ``/ask`` slash command, the rest ``MESSAGE_CREATE`` mentions. A mention's reply is a bot
  message in the thread started from it (or a reply referencing it); a command's reply is the
  interaction's follow-up (or an immediate callback of type 4). Ack = the interaction callback.
* Before the burst, one warm-up question per platform and kind is answered (not counted), as a
  bot that has been up a while would have; ``--cold`` sends the burst straight after start-up.
* Latency: from just before the platform sends the event to the fake recording the reply.
* Event-loop lag: a task in the bot's loop sleeps 10 ms repeatedly and records how late it
  wakes. Heartbeats: the fake Discord (``--heartbeat-ms`` interval, shortened from Discord's
  41 s so that several fall in the burst) timestamps every HEARTBEAT op it receives.
* ``--stacks MS``: a watchdog thread samples every thread's stack whenever the bot's loop has
  not ticked for MS milliseconds (to find what blocks it); ``--profile N``: cProfile the bot's
  loop thread during the burst and print its top N functions by own time. Both off by default
  (they slow the bot down).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import cProfile
import dataclasses
import logging
import os
import platform
import pstats
import random
import re
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import DEV_SET, load_questions  # noqa: E402
from bot.adapters.discord import DiscordAdapter  # noqa: E402
from bot.adapters.slack.adapter import SlackAdapter  # noqa: E402
from bot.app import AdapterKit, open_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord  # noqa: E402
from tests.fakes.slack_server import DEFAULT_BOT_TOKEN, FakeSlackAPI, RecordedCall, new_ts, send_app_mention  # noqa: E402

T = TypeVar("T")
SECRET = "bench-signing-secret"
DISCORD_TOKEN = "MTIz.bench.token"
LAG_INTERVAL = 0.010

# Paraphrases of the dev questions (in scope), and questions the reading does not answer.
PARAPHRASES = [
    "Why do models fail at vibe coding even though they ace evals?",
    "What happens when a coding model fixes one bug and brings back another?",
    "Why do models do well on evals but worse in real use?",
    "Could reward hacking by researchers explain the gap between benchmarks and real performance?",
    "How does human learning compare with pre-training?",
    "Why can a teenager learn to drive with so little practice?",
    "What role do emotions play in decision making, according to Ilya?",
    "How are emotions like a value function?",
    "What does Ilya mean by the age of research?",
    "Why is the age of scaling coming to an end?",
    "Why do models generalize so much worse than people?",
    "What is the biggest problem with how current models generalize?",
    "What is Safe Superintelligence trying to do?",
    "Will SSI release products before it reaches superintelligence?",
    "Will AI be deployed like a new employee who learns on the job?",
    "What is continual learning in the context of deploying AI?",
    "Should AI be built to care about all sentient beings?",
    "What values should a superintelligence have?",
    "How does Ilya decide which research ideas are worth pursuing?",
    "What role does beauty play in Ilya's research taste?",
    "What does Ilya think about Neuralink-style merging with AI?",
    "Is merging with AI a good long-term equilibrium?",
    "How will attitudes to AI safety change as AI gets more powerful?",
    "Will competing AI labs collaborate on safety?",
    "How does pre-training differ from reinforcement learning?",
    "What does Ilya say about the brain-damaged patient who lost his emotions?",
    "Why does Ilya think a 15-year-old is a useful comparison for AI?",
    "What is Ilya's view on how much compute research really needs?",
    "How does SSI plan to make money?",
    "What does Ilya expect AI to look like in 5 to 20 years?",
    "Why might RL training make models too narrowly focused?",
    "What does Ilya say about superintelligence and the economy growing fast?",
]
OUT_OF_SCOPE = [
    "What is the capital of Australia?",
    "Who won the 2018 football World Cup?",
    "How do I reset my home wifi router?",
    "What's a good recipe for lasagna?",
    "How tall is Mount Everest?",
    "Which stocks should I buy this year?",
    "How do I learn to play the guitar quickly?",
    "What is Ilya's home address?",
]


# ============================================================================ helpers


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "-"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def busy_processes(window: float = 1.0, threshold: float = 0.10) -> list[str]:
    """Other processes using more than ``threshold`` of a CPU over ``window`` seconds (Linux /proc)."""

    def snapshot() -> dict[int, tuple[int, str]]:
        out: dict[int, tuple[int, str]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            out[int(entry)] = (int(fields[11]) + int(fields[12]), cmd or stat.split("(", 1)[1].split(")")[0])
        return out

    if not Path("/proc/stat").exists():
        return ["(no /proc: unknown)"]
    before = snapshot()
    time.sleep(window)
    after = snapshot()
    hz = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, (ticks, cmd) in after.items():
        used = (ticks - before.get(pid, (ticks, ""))[0]) / hz / window
        if used >= threshold:
            busy.append(f"pid {pid} {used:.0%} CPU: {cmd[:90]}")
    return busy


class PlatformSide:
    """Where the fakes and the askers run: a thread with its own loop, or the bot's loop."""

    def __init__(self, separate: bool) -> None:
        self.separate = separate
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        if separate:
            self.loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self.loop.run_forever, name="platform-side", daemon=True)
            self._thread.start()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.loop is None:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        if self.loop is not None and self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


# ============================================================================ timed fakes


class TimedSlack(FakeSlackAPI):
    """The fake Web API, with the time each call was recorded."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stamped: list[tuple[float, RecordedCall]] = []

    async def _record(self, call: RecordedCall) -> None:
        self.stamped.append((time.perf_counter(), call))
        await super()._record(call)


class TimedDiscord(FakeDiscord):
    """The fake Discord, with the time of every bot post, interaction response and heartbeat."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bot_posts: list[tuple[float, dict[str, Any]]] = []
        self.callbacks: list[tuple[float, str, int, int]] = []  # (time, interaction token, type, flags)
        self.followups: list[tuple[float, str, dict[str, Any]]] = []
        self.heartbeats: list[float] = []
        self.rest: list[tuple[float, str]] = []  # (time, "METHOD /path with ids replaced")

    async def _rest(self, request: Any) -> Any:
        path = re.sub(r"/\d{6,}", "/{id}", "/" + request.match_info["tail"])
        self.rest.append((time.perf_counter(), f"{request.method} {re.sub(r'/[^/]*-token-[^/]*', '/{token}', path)}"))
        return await super()._rest(request)

    async def create_message(
        self,
        channel_id: int,
        author_id: int,
        body: Mapping[str, Any],
        files: Sequence[Mapping[str, Any]] = (),
        *,
        extra: Mapping[str, Any] | None = None,
        echo: bool = True,
    ) -> dict[str, Any]:
        msg = await super().create_message(channel_id, author_id, body, files, extra=extra, echo=echo)
        if author_id == self.bot_user_id:
            self.bot_posts.append((time.perf_counter(), msg))
        return msg

    async def _r_callback(self, call: Any, iid: str, token: str) -> dict[str, Any] | None:
        result = await super()._r_callback(call, iid, token)
        body = call.json or {}
        flags = int((body.get("data") or {}).get("flags", 0) or 0)
        self.callbacks.append((time.perf_counter(), token, int(body.get("type", 0)), flags))
        return result

    async def _r_followup(self, call: Any, app: str, token: str) -> dict[str, Any] | None:
        result = await super()._r_followup(call, app, token)
        self.followups.append((time.perf_counter(), token, dict(call.json or {})))
        return result

    async def _on_op(self, sess: Any, payload: dict[str, Any]) -> None:
        if payload.get("op") == 1:
            self.heartbeats.append(time.perf_counter())
        await super()._on_op(sess, payload)


# ============================================================================ measurement in the bot's loop


class LagMonitor:
    """Sleeps ``interval`` again and again in the bot's loop; records how late each wake-up is."""

    def __init__(self, interval: float = LAG_INTERVAL) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (wake time, lateness)
        self.last_tick = time.perf_counter()

    async def run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval)
            now = self.last_tick = time.perf_counter()
            self.samples.append((now, now - start - self.interval))

    def window(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.samples if start <= at <= end]

    def worst(self, start: float, end: float, n: int = 5) -> list[tuple[float, float]]:
        """The ``n`` largest lags in the window: (when the late wake-up was due, from ``start``; lag)."""
        inside = [(at - lag - start, lag) for at, lag in self.samples if start <= at <= end]
        return sorted(inside, key=lambda s: s[1], reverse=True)[:n]


class StallSampler(threading.Thread):
    """When the bot's loop has not ticked for ``threshold`` s, sample every thread's innermost frames."""

    def __init__(self, monitor: LagMonitor, loop_thread: int, threshold: float) -> None:
        super().__init__(name="stall-sampler", daemon=True)
        self.monitor, self.loop_thread, self.threshold = monitor, loop_thread, threshold
        self.stop_event = threading.Event()
        self.counts: collections.Counter[str] = collections.Counter()
        self.stalls = 0

    def run(self) -> None:
        while not self.stop_event.wait(0.005):
            if time.perf_counter() - self.monitor.last_tick < self.threshold:
                continue
            self.stalls += 1
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == threading.get_ident():
                    continue
                role = "LOOP" if ident == self.loop_thread else names.get(ident, "?")
                self.counts[f"[{'LOOP' if role == 'LOOP' else 'thread'}] {where(frame)}"] += 1


def where(frame: Any) -> str:
    """The innermost frames of a stack, readbot's own frame first if there is one."""
    stack = traceback.extract_stack(frame)[-12:]
    ours = [f for f in stack if "/bot/" in f.filename and "site-packages" not in f.filename]
    inner = stack[-1]
    text = f"{short(inner.filename)}:{inner.lineno} {inner.name}"
    if ours and ours[-1] is not inner:
        text += f"  <- {short(ours[-1].filename)}:{ours[-1].lineno} {ours[-1].name}"
    return text


def short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


class WarningCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        first = record.getMessage().splitlines()[0][:140]
        self.messages[f"{record.levelname} {record.name}: {first}"] += 1


# ============================================================================ askers


@dataclass
class Ask:
    platform: str
    kind: str  # "mention" | "/ask"
    index: int
    question: str
    category: str  # in_scope | out_of_scope | adversarial
    channel: str
    user: str
    sent: float = 0.0
    acked: float | None = None  # Slack: HTTP answer; Discord /ask: interaction callback
    ack_status: int | None = None
    error: str = ""
    key: str = ""  # Slack: question ts; Discord: message id or interaction token
    replies: list[tuple[float, str]] = field(default_factory=list)  # (time, "public"|"private")

    @property
    def latency(self) -> float | None:
        return min(t for t, _ in self.replies) - self.sent if self.replies else None


def question_pool() -> list[tuple[str, str]]:
    dev = [(q["question"], q["type"]) for q in load_questions(DEV_SET)]
    pool = dev + [(q, "in_scope") for q in PARAPHRASES] + [(q, "out_of_scope") for q in OUT_OF_SCOPE]
    seen: set[str] = set()
    unique = [(q, c) for q, c in pool if not (q in seen or seen.add(q))]
    random.Random(7).shuffle(unique)
    return unique


def questions_for(pool: list[tuple[str, str]], n: int, offset: int) -> list[tuple[str, str]]:
    """``n`` distinct questions starting at ``offset`` in the pool (numbered variants past its end)."""
    out = []
    for i in range(n):
        q, c = pool[(offset + i) % len(pool)]
        rounds = (offset + i) // len(pool)
        out.append((q if rounds == 0 else f"{q} (asker {i})", c))
    return out


async def ask_slack(fake: TimedSlack, url: str, ask: Ask) -> None:
    ask.key = new_ts()
    ask.sent = time.perf_counter()
    try:
        response = await send_app_mention(url, SECRET, ask.question, channel=ask.channel, user=ask.user, ts=ask.key)
        ask.acked, ask.ack_status = time.perf_counter(), response.status
    except Exception as exc:
        ask.error = f"{type(exc).__name__}: {exc}"


async def ask_discord(fake: TimedDiscord, ask: Ask) -> None:
    ask.sent = time.perf_counter()
    try:
        if ask.kind == "/ask":
            ref = await fake.send_slash_command(
                "ask", {"question": ask.question}, user=int(ask.user), channel_id=int(ask.channel)
            )
            ask.key = ref.token
        else:
            message = await fake.send_message(int(ask.channel), ask.question, author=int(ask.user), mentions_bot=True)
            ask.key = message["id"]
    except Exception as exc:
        ask.error = f"{type(exc).__name__}: {exc}"


def match_slack(fake: TimedSlack, asks: list[Ask]) -> None:
    by_key = {(a.channel, a.key): a for a in asks}
    for a in asks:
        a.replies.clear()
    for at, call in fake.stamped:
        if call.method not in ("chat.postMessage", "chat.postEphemeral") or call.status != 200:
            continue
        ask = by_key.get((str(call.args.get("channel")), str(call.args.get("thread_ts"))))
        if ask is not None:
            ask.replies.append((at, "public" if call.method == "chat.postMessage" else "private"))


def match_discord(fake: TimedDiscord, asks: list[Ask]) -> None:
    mentions = {a.key: a for a in asks if a.kind == "mention" and a.key}
    commands = {a.key: a for a in asks if a.kind == "/ask" and a.key}
    for a in asks:
        a.replies.clear()
        a.acked = None
    for at, msg in list(fake.bot_posts):
        if msg.get("interaction_metadata") or msg.get("webhook_id"):
            continue  # interaction responses: matched by token below
        ref = (msg.get("message_reference") or {}).get("message_id")
        ask = mentions.get(msg["channel_id"]) or mentions.get(str(ref))
        if ask is not None:
            in_thread = msg["channel_id"] == ask.key
            ask.replies.append((at, "public" if in_thread else "private"))
    for at, token, rtype, flags in list(fake.callbacks):
        ask = commands.get(token)
        if ask is None:
            continue
        ask.acked = ask.acked or at
        if rtype == 4:
            ask.replies.append((at, "private" if flags & EPHEMERAL else "public"))  # an immediate answer
    for at, token, body in list(fake.followups):
        ask = commands.get(token)
        if ask is not None:
            ask.replies.append((at, "private" if body.get("flags", 0) & EPHEMERAL else "public"))


# ============================================================================ the run


@dataclass
class Result:
    slack: list[Ask]
    discord: list[Ask]
    start: float
    end: float
    idle_lag: list[float]
    burst_lag: list[float]
    worst_lag: list[tuple[float, float]]
    heartbeats: list[float]
    all_heartbeats: list[float]
    warnings: collections.Counter[str]
    slack_calls: collections.Counter[str]
    discord_calls: collections.Counter[str]
    profile: pstats.Stats | None
    stalls: tuple[int, collections.Counter[str]] | None
    setup: dict[str, str]


async def run(args: argparse.Namespace) -> Result:
    side = PlatformSide(separate=not args.fakes_in_loop)
    data_dir = Path(tempfile.mkdtemp(prefix="readbot-bench-chat-"))
    log_path = data_dir / "readbot.log"
    logging.basicConfig(
        level=logging.INFO, filename=log_path, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    warnings = WarningCounter()
    logging.getLogger().addHandler(warnings)
    setup: dict[str, str] = {"data dir": str(data_dir), "log": str(log_path)}

    slack_fake = await side.call(_start(TimedSlack(bot_token=DEFAULT_BOT_TOKEN)))

    async def make_discord() -> tuple[TimedDiscord, list[int], list[int]]:
        fake = TimedDiscord(DISCORD_TOKEN, heartbeat_interval_ms=args.heartbeat_ms)
        channels = [fake.add_text_channel(f"bench-{i:02d}") for i in range(args.channels)]
        users = [fake.add_member(f"asker{i:03d}") for i in range(args.askers)]
        await fake.start()
        return fake, channels, users

    discord_fake, discord_channels, discord_users = await side.call(make_discord())

    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(data_dir),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack_fake.api_url,
            "SLACK_MODE": "http",
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "DISCORD_API_URL": discord_fake.api_url,
            "DISCORD_GATEWAY_URL": discord_fake.gateway_url,
            "READBOT_CONFIG": str(data_dir / "no-schedules.toml"),  # no prompts from a readbot.toml in cwd
        },
        dotenv=None,
    )
    settings = dataclasses.replace(settings, http_port=0)  # a free port (not settable from the env)

    if args.workers:
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(args.workers, thread_name_prefix="asyncio")
        )
    built: list[float] = []  # when open_app began building the adapters: everything else was ready

    def slack_adapter(kit: AdapterKit) -> SlackAdapter:
        built.append(time.perf_counter())
        return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1")

    def discord_adapter(kit: AdapterKit) -> DiscordAdapter:
        return DiscordAdapter(kit.settings, kit.dispatcher, commands=kit.commands, state=kit.state)

    monitor = LagMonitor()
    background: list[asyncio.Task[None]] = [asyncio.create_task(monitor.run(), name="lag-monitor")]
    sampler: StallSampler | None = None
    stack = contextlib.AsyncExitStack()  # open_app: left (adapters stopped, everything closed) in finally
    try:
        t = time.perf_counter()
        app = await stack.enter_async_context(open_app(settings, adapters=[slack_adapter, discord_adapter]))
        started = time.perf_counter()
        setup["core ready (model, index of the shipped reading, database)"] = ms(built[0] - t)
        setup["adapters started (Slack HTTP, Discord gateway ready + commands synced)"] = ms(started - built[0])
        setup["background tasks"] = ", ".join(task.get_name() for task in app.tasks)
        slack = app.adapters[0]
        assert isinstance(slack, SlackAdapter)
        slack_url = f"http://127.0.0.1:{slack.http_port}/slack/events"

        pool = question_pool()
        slack_asks = [
            Ask("slack", "mention", i, q, c, f"CBENCH{i % args.channels:03d}", f"UASK{i:04d}")
            for i, (q, c) in enumerate(questions_for(pool, args.askers, 0))
        ]
        discord_asks = [
            Ask(
                "discord",
                "/ask" if args.slash_every and i % args.slash_every == args.slash_every - 1 else "mention",
                i,
                q,
                c,
                str(discord_channels[i % args.channels]),
                str(discord_users[i]),
            )
            for i, (q, c) in enumerate(questions_for(pool, args.askers, len(pool) // 2))
        ]

        async def answered(slack_list: list[Ask], discord_list: list[Ask]) -> bool:
            match_slack(slack_fake, slack_list)
            match_discord(discord_fake, discord_list)
            return all(a.replies or a.error for a in slack_list + discord_list)

        async def wait_answered(slack_list: list[Ask], discord_list: list[Ask], timeout: float) -> None:
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline and not await side.call(answered(slack_list, discord_list)):
                await asyncio.sleep(0.1)

        if not args.cold:
            warm_q = "What is this episode about?"
            warm_slack = [Ask("slack", "mention", -1, warm_q, "in_scope", "CWARMUP", "UWARMUP")]
            warm_discord = [
                Ask("discord", kind, -1, warm_q, "in_scope", str(discord_channels[0]), str(discord_users[0]))
                for kind in ("mention", "/ask")
            ]

            async def warm_up() -> None:
                await asyncio.gather(
                    *(ask_slack(slack_fake, slack_url, a) for a in warm_slack),
                    *(ask_discord(discord_fake, a) for a in warm_discord),
                )

            t = time.perf_counter()
            await side.call(warm_up())
            await wait_answered(warm_slack, warm_discord, 60)
            setup["warm-up (one question per platform and kind, not counted)"] = ms(time.perf_counter() - t)
        await asyncio.sleep(2.0)  # idle: the loop's baseline lag and the first heartbeats
        idle_end = time.perf_counter()
        idle_lag = monitor.window(idle_end - 2.0, idle_end)
        if args.stacks:
            sampler = StallSampler(monitor, threading.get_ident(), args.stacks / 1000)
            sampler.start()
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()  # this thread only: the bot's loop

        async def burst() -> float:
            start = time.perf_counter()
            await asyncio.gather(
                *(ask_slack(slack_fake, slack_url, a) for a in slack_asks),
                *(ask_discord(discord_fake, a) for a in discord_asks),
            )
            return start

        start = await side.call(burst())

        await wait_answered(slack_asks, discord_asks, args.timeout)
        await asyncio.sleep(args.quiet)  # a duplicate would arrive now
        await side.call(answered(slack_asks, discord_asks))
        replies = [t for a in slack_asks + discord_asks for t, _ in a.replies]
        end = max(replies) if replies else time.perf_counter()
        if profiler is not None:
            profiler.disable()
        burst_lag = monitor.window(start, end)
    finally:
        if sampler is not None:
            sampler.stop_event.set()
        for task in background:
            task.cancel()
        await stack.aclose()  # the background tasks, the adapters (each given 15 s), the features, the stores
        await side.call(slack_fake.stop())
        await side.call(discord_fake.stop())
        side.close()
    beats = [b for b in discord_fake.heartbeats if start <= b <= end]
    slack_calls = collections.Counter(c.method for at, c in slack_fake.stamped if start <= at <= end + args.quiet)
    discord_calls = collections.Counter(r for at, r in discord_fake.rest if start <= at <= end + args.quiet)
    stats = pstats.Stats(profiler, stream=sys.stdout) if profiler is not None else None
    return Result(
        slack_asks,
        discord_asks,
        start,
        end,
        idle_lag,
        burst_lag,
        monitor.worst(start, end),
        beats,
        list(discord_fake.heartbeats),
        warnings.messages,
        slack_calls,
        discord_calls,
        stats,
        (sampler.stalls, sampler.counts) if sampler is not None else None,
        setup,
    )


async def _start(fake: T) -> T:
    await fake.start()  # type: ignore[attr-defined]
    return fake


# ============================================================================ report


def row(name: str, asks: list[Ask], show_ack: bool = True) -> list[str]:
    once = sum(len(a.replies) == 1 for a in asks)
    dup = sum(len(a.replies) > 1 for a in asks)
    missing = sum(not a.replies for a in asks)
    lat = [a.latency for a in asks if a.latency is not None]
    acks = [a.acked - a.sent for a in asks if a.acked is not None]
    ack = f"{ms(pct(acks, 95))} / {ms(max(acks))}" if acks and show_ack else "-"
    return [
        name,
        str(len(asks)),
        str(once),
        str(dup),
        str(missing),
        ack,
        ms(pct(lat, 50)),
        ms(pct(lat, 95)),
        ms(max(lat) if lat else float("nan")),
    ]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(args: argparse.Namespace, result: Result, header: list[str]) -> str:
    out = list(header)
    out.append("")
    for key, value in result.setup.items():
        out.append(f"{key}: {value}")
    out.append("")
    everyone = result.slack + result.discord
    mentions = [a for a in result.discord if a.kind == "mention"]
    slash = [a for a in result.discord if a.kind == "/ask"]
    rows = [
        ["platform", "questions", "answered once", "duplicates", "missing", "ack p95 / max", "p50", "p95", "max"],
        row("slack (app_mention)", result.slack),
    ]
    rows.append(row("discord (mention)", mentions, show_ack=False))
    if slash:
        rows.append(row("discord (/ask)", slash))
        rows.append(row("discord (all)", result.discord, show_ack=False))
    rows.append(row("both", everyone, show_ack=False))
    out.append("Latency = from the platform sending the event to the fake recording the reply.")
    out.append(
        "Ack = Slack: the HTTP answer to the event (Slack retries after 3 s); Discord /ask: the "
        "interaction callback (3 s deadline)."
    )
    out.append(table(rows))
    out.append("")
    wall = result.end - result.start
    answered = sum(bool(a.replies) for a in everyone)
    out.append(
        f"wall time, first event sent -> last reply recorded: {wall:.2f} s; "
        f"{answered / wall:.2f} questions/s answered ({answered}/{len(everyone)})"
    )
    kinds = collections.Counter((a.category, kind) for a in everyone for _, kind in a.replies[:1])
    mix = ", ".join(f"{c} {k}: {n}" for (c, k), n in sorted(kinds.items()))
    out.append(f"first replies by question type and visibility: {mix}")
    out.append("")
    lag = result.burst_lag
    over = {t: sum(x > t for x in lag) for t in (0.05, 0.1, 0.25)}
    out.append(f"event-loop lag ({LAG_INTERVAL * 1000:.0f} ms sleeper in the bot's loop):")
    out.append(
        f"  idle (2 s before the burst): {len(result.idle_lag)} samples, p99 {ms(pct(result.idle_lag, 99))}, "
        f"max {ms(max(result.idle_lag, default=float('nan')))}"
    )
    out.append(
        f"  during the burst: {len(lag)} samples, p50 {ms(pct(lag, 50))}, p99 {ms(pct(lag, 99))}, "
        f"max {ms(max(lag, default=float('nan')))}; " + ", ".join(f"> {t * 1000:.0f} ms: {n}" for t, n in over.items())
    )
    out.append(
        "  largest (when the wake-up was due, from the first event sent): "
        + ", ".join(f"{ms(lag)} at +{at:.2f} s" for at, lag in result.worst_lag)
    )
    out.append("")
    beats = result.heartbeats
    interval = args.heartbeat_ms / 1000
    gaps = np.diff([b for b in result.all_heartbeats if result.start - 2 * interval <= b <= result.end])
    out.append(f"Discord heartbeat (interval {interval:g} s, set in the fake's HELLO):")
    out.append(
        f"  HEARTBEAT ops received by the fake during the burst: {len(beats)} in {wall:.1f} s "
        f"(one per interval would be {wall / interval:.1f}); each was ACKed at once by the fake"
    )
    if len(gaps):
        out.append(
            f"  largest gap between heartbeats: {ms(float(gaps.max()))} (interval + how late the loop "
            f"sent it: {ms(float(gaps.max()) - interval)} late at worst)"
        )
    heartbeat_warnings = {k: v for k, v in result.warnings.items() if "heartbeat" in k or "keep up" in k}
    out.append(
        f"  discord.py heartbeat warnings (blocked / can't keep up): {sum(heartbeat_warnings.values()) or 'none'}"
    )
    out.append("")
    out.append("Web API calls the bot made during the burst:")
    out.append("  slack: " + ", ".join(f"{m} {n}" for m, n in result.slack_calls.most_common()))
    out.append("  discord: " + ", ".join(f"{m} {n}" for m, n in result.discord_calls.most_common()))
    out.append("")
    errors = [a for a in everyone if a.error or (a.ack_status not in (None, 200))]
    if errors:
        out.append("asker errors:")
        out.extend(f"  {a.platform} #{a.index} {a.question[:50]!r}: {a.error or a.ack_status}" for a in errors)
    problems = [a for a in everyone if len(a.replies) != 1]
    if problems:
        out.append("not answered exactly once:")
        out.extend(
            f"  {a.platform} {a.kind} #{a.index} {a.question[:60]!r}: {len(a.replies)} replies" for a in problems
        )
    out.append("warnings logged during the run: " + ("none" if not result.warnings else ""))
    out.extend(f"  {n} x {m}" for m, n in result.warnings.most_common(10))
    if result.stalls is not None:
        stalls, counts = result.stalls
        out.append(f"stall samples (loop silent > {args.stacks} ms): {stalls}; most frequent frames:")
        out.extend(f"  {n:4d}  {frame}" for frame, n in counts.most_common(15))
    if result.profile is not None:
        out.append(
            f"cProfile of the bot's loop thread during the burst, top {args.profile} by own time "
            "(selector waits are idle time):"
        )
        stats = result.profile
        rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[: args.profile]  # type: ignore[attr-defined]
        out.extend(
            f"  {tt * 1000:8.1f} ms own {ct * 1000:8.1f} ms cum {nc:7d} calls  {short(file)}:{line} {name}"
            for (file, line, name), (_, nc, tt, ct, _) in rows
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--askers", type=int, default=50, help="askers on each platform (default 50)")
    parser.add_argument("--channels", type=int, default=10, help="channels on each platform (default 10)")
    parser.add_argument(
        "--slash-every",
        type=int,
        default=5,
        help="every Nth Discord asker uses /ask instead of a mention (0: none; default 5)",
    )
    parser.add_argument(
        "--heartbeat-ms",
        type=int,
        default=1000,
        help="the fake gateway's heartbeat interval (Discord: 41250; default 1000)",
    )
    parser.add_argument(
        "--cold", action="store_true", help="no warm-up question before the burst (the burst meets a bot just started)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="size of the loop's default executor (0: asyncio's default, as readbot run)",
    )
    parser.add_argument(
        "--fakes-in-loop",
        action="store_true",
        help="run the fakes and askers in the bot's event loop (as the adapter tests do)",
    )
    parser.add_argument(
        "--stacks",
        type=float,
        default=0,
        help="sample all threads' stacks when the loop is silent this many ms (0: off)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="cProfile the bot's loop during the burst; print the top N functions (0: off)",
    )
    parser.add_argument("--timeout", type=float, default=600, help="give up waiting for replies after (s)")
    parser.add_argument("--quiet", type=float, default=2.0, help="watch for duplicates after the last reply (s)")
    args = parser.parse_args()
    if args.askers < 1 or args.channels < 1:
        parser.error("--askers and --channels must be at least 1")

    load = os.getloadavg()
    busy = busy_processes()
    import discord
    import slack_bolt

    header = [
        "readbot chat-path load benchmark (benchmarks/bench_chat.py)",
        f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, discord.py {discord.__version__}, slack_bolt "
        f"{slack_bolt.version.__version__}",
        f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min)",
        "other processes busy at start (>10% CPU over 1 s): " + ("; ".join(busy) if busy else "none"),
        f"askers: {args.askers} per platform over {args.channels} channels each, all at once "
        f"(Discord: every {args.slash_every or 'no'}th one a /ask slash command, the rest mentions)",
        "fakes and askers: "
        + (
            "in the bot's event loop"
            if args.fakes_in_loop
            else "in their own thread and event loop (the bot's loop runs only the bot)"
        ),
        f"worker threads for blocking work (the loop's default executor): "
        f"{args.workers or min(32, (os.cpu_count() or 1) + 4)}" + ("" if args.workers else " (asyncio's default)"),
        "burst: "
        + (
            "cold, straight after start-up"
            if args.cold
            else "after one warm-up question per platform and kind (not counted)"
        ),
        f"command: {' '.join([Path(sys.executable).name, *sys.argv])}",
    ]
    result = asyncio.run(run(args))
    print(report(args, result, header))
    if any(len(a.replies) != 1 for a in result.slack + result.discord):
        sys.exit(1)  # a question missed or answered twice


if __name__ == "__main__":
    main()
