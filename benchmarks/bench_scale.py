"""Scale benchmark: questions answered per second and p95 latency with 50 concurrent askers,
embedded Chroma versus a Chroma server, one versus two ``readbot run`` processes.

    python benchmarks/bench_scale.py [--askers 50] [--per-asker 4] [--postgres URL]
                                     [--out benchmarks/results/bench_scale.txt]

The issue: "Questions answered per second and p95 latency through the core with 50 concurrent
askers, embedded versus Chroma server, and one versus two processes; event-loop lag (max) while
answering."

(a) In process, through the core: ``open_app`` (the bundled model, the shipped reading indexed
    once, the SQLite database in the data dir, the Q&A feature's ``AskHandler`` behind the
    ``Dispatcher`` and its default middleware, the event log included), the loop's default executor sized as
    ``readbot run`` sizes it. ``--askers`` tasks each ask ``--per-asker`` distinct questions one
    after another (a neutral ``Message`` dispatched to a recording responder); latency is from
    dispatch to the reply. Once with an embedded Chroma in a temp data dir, once with the Chroma
    server (READBOT_CHROMA_URL). Event-loop lag: a task in the same loop sleeps 10 ms again and
    again and records how late it wakes; the max and p99 while the askers run are reported.
(b) Processes: one, then two ``python -m bot.cli run --platform slack`` (HTTP mode, the same
    settings, their own data dirs) on one fresh PostgreSQL database and the Chroma server, behind
    one fake Slack Web API (``tests.fakes.slack_server``) in this process. The askers send signed
    ``app_mention`` events, asker ``i`` to process ``i mod n``; latency is from just before the
    event is sent to the fake recording the answer (``chat.postMessage`` in the question's thread).
    CPU seconds used during the burst are read from /proc for the bots, the Chroma server and this
    process (the fake Slack and the askers).

Every question is distinct (the dev and calibration questions, numbered past the end of the set);
before each burst a few questions warm things up (not counted). Output is printed and written to
``--out``, with the machine's load in the header.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import CALIBRATION_SET, DEV_SET, load_questions  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.core.dispatcher import Dispatcher  # noqa: E402
from bot.core.events import Channel, Message, MessageRef, Reply, User, Where  # noqa: E402
from bot.knowledge.service import KnowledgeService  # noqa: E402
from bot.paths import shipped  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.slack_server import DEFAULT_BOT_TOKEN, FakeSlackAPI, RecordedCall, new_ts, send_app_mention  # noqa: E402

SECRET = "bench-scale-signing-secret"
LAG_INTERVAL = 0.010
WARM_UP = 4
START_TIMEOUT = 180.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ============================================================================ shared


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def question_pool() -> list[str]:
    pool = [q["question"] for q in load_questions(DEV_SET)] if DEV_SET.exists() else []
    pool += [q["question"] for q in load_questions(CALIBRATION_SET)]
    return list(dict.fromkeys(pool))


class Questions:
    """Distinct questions, handed out in order (numbered variants past the end of the pool)."""

    def __init__(self) -> None:
        self.pool = question_pool()
        self.n = 0

    def next(self) -> str:
        q = self.pool[self.n % len(self.pool)]
        rounds = self.n // len(self.pool)
        self.n += 1
        return q if rounds == 0 else f"{q} (take {rounds + 1})"


@dataclass
class Row:
    label: str
    questions: int
    answered: int
    wall: float
    latencies: list[float]
    lag: list[float] = field(default_factory=list)
    cpu: str = ""

    def cells(self) -> list[str]:
        ms = np.array(self.latencies) * 1000 if self.latencies else np.array([float("nan")])
        lag = np.array(self.lag) * 1000 if self.lag else None
        return [
            self.label,
            str(self.questions),
            str(self.answered),
            f"{self.wall:.2f} s",
            f"{self.answered / self.wall:.1f}",
            f"{np.percentile(ms, 50):,.0f} ms",
            f"{np.percentile(ms, 95):,.0f} ms",
            f"{ms.max():,.0f} ms",
            f"{lag.max():,.0f} ms" if lag is not None else "-",
            f"{np.percentile(lag, 99):,.0f} ms" if lag is not None else "-",
        ]


HEADERS = ["configuration", "questions", "answered", "wall", "q/s", "p50", "p95", "max", "loop lag max", "lag p99"]


def table(rows: Sequence[Row]) -> str:
    cells = [HEADERS] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = []
    for n, row in enumerate(cells):
        padded = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        lines.append("  ".join(padded))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Out:
    """Print and keep every line for the results file."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.buffer.write(text + "\n")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its threads included), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READBOT_", "SLACK_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONIOENCODING="utf-8")
    return env


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class LagMonitor:
    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []

    async def run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(LAG_INTERVAL)
            now = time.perf_counter()
            self.samples.append((now, now - start - LAG_INTERVAL))

    def window(self, start: float, end: float) -> list[float]:
        return [lag for at, lag in self.samples if start <= at <= end]


# ============================================================================ Chroma server


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_chroma(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    exe = Path(sys.executable).parent / "chroma"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (root / "chroma.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(exe), "run", "--path", str(root / "chroma-db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env(),
            cwd=root,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not _heartbeat(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"chroma server did not start:\n{(root / 'chroma.log').read_text()[-2000:]}")
        time.sleep(0.2)
    return proc, url


# ============================================================================ (a) in process


class Recorder:
    """A responder that notes when the answer arrives."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.reply_text = ""

    async def acknowledge(self) -> None: ...

    async def open_form(self, form: object) -> None: ...

    async def reply(self, reply: Reply) -> MessageRef | None:
        self.at = time.perf_counter()
        self.reply_text = reply.text
        return None


async def in_process(
    label: str, data_dir: Path, chroma_url: str | None, questions: Questions, askers: int, per_asker: int
) -> Row:
    env = {"READBOT_DATA_DIR": str(data_dir), "READBOT_KNOWLEDGE_DIR": str(shipped("knowledge"))}
    if chroma_url:
        env["READBOT_CHROMA_URL"] = chroma_url
    settings = Settings.from_env(env, dotenv=None)
    service = await asyncio.to_thread(KnowledgeService.open, settings)
    try:
        await asyncio.to_thread(service.warm)  # indexes the reading if this index lacks it
        async with open_app(settings, knowledge=service, run_tasks=False) as app:  # leaves the service open
            return await ask_in_process(label, app.dispatcher, questions, askers, per_asker)
    finally:
        service.close()


async def ask_in_process(label: str, dispatcher: Dispatcher, questions: Questions, askers: int, per_asker: int) -> Row:
    seq = 0

    async def ask(asker: int, text: str) -> float | None:
        nonlocal seq
        seq += 1
        where = Where(Channel("bench", f"C{asker % 10}"))
        event = Message(f"{label}-{seq}", where, User(f"U{asker}"), text, message_id=f"{seq}.0")
        recorder = Recorder()
        start = time.perf_counter()
        await dispatcher.dispatch(event, recorder)
        return recorder.at - start if recorder.at is not None else None

    for i in range(WARM_UP):
        await ask(i, questions.next())
    monitor = LagMonitor()
    lag_task = asyncio.create_task(monitor.run())
    await asyncio.sleep(0.5)
    latencies: list[float] = []
    total = askers * per_asker
    batches = [[questions.next() for _ in range(per_asker)] for _ in range(askers)]

    async def asker(n: int) -> None:
        for text in batches[n]:
            took = await ask(n, text)
            if took is not None:
                latencies.append(took)

    started = time.perf_counter()
    await asyncio.gather(*(asker(n) for n in range(askers)))
    ended = time.perf_counter()
    lag_task.cancel()
    return Row(label, total, len(latencies), ended - started, latencies, monitor.window(started, ended))


# ============================================================================ (b) processes


class TimedSlack(FakeSlackAPI):
    """The fake Web API; resolves a waiter when an answer lands in a question's thread."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}

    async def _record(self, call: RecordedCall) -> None:
        now = time.perf_counter()
        if call.method in ("chat.postMessage", "chat.postEphemeral") and call.args.get("thread_ts"):
            ts = str(call.args["thread_ts"])
            self.answered.setdefault(ts, now)
            waiter = self.waiters.get(ts)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)
        await super()._record(call)


async def ready(base: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(f"{base}/readyz") as resp,
        ):
            return resp.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def processes(
    n: int,
    fake: TimedSlack,
    env: dict[str, str],
    root: Path,
    chroma: subprocess.Popen[bytes],
    questions: Questions,
    askers: int,
    per_asker: int,
    out: Out,
) -> Row:
    procs: list[tuple[subprocess.Popen[bytes], int, Path]] = []
    try:
        began = time.perf_counter()
        for i in range(n):
            port = free_port()
            log = root / f"bot-{n}-{i}.log"
            with log.open("wb") as handle:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "run", "--platform", "slack"],
                    env={**env, "READBOT_HTTP_PORT": str(port), "READBOT_DATA_DIR": str(root / f"data-{n}-{i}")},
                    cwd=root,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            procs.append((proc, port, log))
        for proc, port, log in procs:
            deadline = time.monotonic() + START_TIMEOUT
            while not await ready(f"http://127.0.0.1:{port}"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"readbot run did not become ready:\n{log.read_text()[-3000:]}")
                await asyncio.sleep(0.2)
        out(f"  {n} process(es) ready in {time.perf_counter() - began:.1f} s")
        urls = [f"http://127.0.0.1:{port}/slack/events" for _, port, _ in procs]

        async def ask(url: str, text: str, asker: int) -> float | None:
            ts = new_ts()
            waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            fake.waiters[ts] = waiter
            sent = time.perf_counter()
            resp = await send_app_mention(
                url, SECRET, text, channel=f"CSCALE{asker % 10}", user=f"UASK{asker:03d}", ts=ts
            )
            if resp.status != 200:
                return None
            try:
                return await asyncio.wait_for(waiter, timeout=120) - sent
            except TimeoutError:
                return None
            finally:
                fake.waiters.pop(ts, None)

        for i in range(WARM_UP * n):
            await ask(urls[i % n], questions.next(), i)
        batches = [[questions.next() for _ in range(per_asker)] for _ in range(askers)]
        latencies: list[float] = []

        async def asker(k: int) -> None:
            for text in batches[k]:
                took = await ask(urls[k % n], text, k)
                if took is not None:
                    latencies.append(took)

        pids = {"bots": [p.pid for p, _, _ in procs], "chroma": [chroma.pid], "bench": [os.getpid()]}
        cpu_before = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
        started = time.perf_counter()
        await asyncio.gather(*(asker(k) for k in range(askers)))
        ended = time.perf_counter()
        wall = ended - started
        used = {k: sum(cpu_seconds(p) for p in v) - cpu_before[k] for k, v in pids.items()}
        cpu = ", ".join(f"{k} {s:.1f} s ({s / wall:.0%})" for k, s in used.items())
        return Row(
            f"{n} process{'es' if n > 1 else ''} (Slack HTTP)",
            askers * per_asker,
            len(latencies),
            wall,
            latencies,
            cpu=cpu,
        )
    finally:
        await asyncio.gather(*(asyncio.to_thread(stop, p) for p, _, _ in procs))


# ============================================================================ main


def git_state() -> str:
    def run(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.rstrip()

    head = run("rev-parse", "--short", "HEAD").strip()
    changed = [line[3:] for line in run("status", "--porcelain", "--untracked-files=no").splitlines()]
    return f"{head}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def busy_processes() -> list[str]:
    """Other processes using > 10% of a CPU over one second."""

    def snapshot() -> dict[int, tuple[float, str]]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and int(entry.name) != os.getpid():
                try:
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                except OSError:
                    continue
                found[int(entry.name)] = (cpu_seconds(int(entry.name)), cmd[:90])
        return found

    first = snapshot()
    time.sleep(1.0)
    second = snapshot()
    return [
        f"{cmd} ({second[pid][0] - first[pid][0]:.0%})"
        for pid, (_, cmd) in second.items()
        if pid in first and second[pid][0] - first[pid][0] > 0.10 and cmd
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--askers", type=int, default=50)
    parser.add_argument("--per-asker", type=int, default=4, help="questions each asker asks, one after another")
    parser.add_argument(
        "--postgres", default=os.environ.get("READBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_scale.txt")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["ANONYMIZED_TELEMETRY"] = "False"
    workers = max(2, os.cpu_count() or 2)  # as bot.runner.run_platforms sizes it
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="work"))

    out = Out()
    load = os.getloadavg()
    out("readbot scale benchmark (benchmarks/bench_scale.py)")
    out(
        f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; code: {git_state()}"
    )
    out(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min)")
    busy = await asyncio.to_thread(busy_processes)
    out(f"other processes busy at start (>10% CPU over 1 s): {'; '.join(busy) if busy else 'none'}")
    out(
        f"askers: {args.askers} at once, each asking {args.per_asker} distinct questions one after another "
        f"({args.askers * args.per_asker} per configuration); {WARM_UP} warm-up questions per process first"
    )
    out(f"command: python benchmarks/bench_scale.py {' '.join(sys.argv[1:])}".rstrip())
    out()

    root = Path(tempfile.mkdtemp(prefix="readbot-bench-scale-"))
    questions = Questions()
    chroma, chroma_url = await asyncio.to_thread(start_chroma, root)
    rows: list[Row] = []
    try:
        out(
            f"(a) in process, through the core (open_app: Dispatcher -> middleware, the event log in SQLite "
            f"-> AskHandler -> KnowledgeService); "
            f"default executor {workers} threads"
        )
        rows.append(
            await in_process("embedded Chroma", root / "embedded", None, questions, args.askers, args.per_asker)
        )
        out("  embedded done")
        rows.append(
            await in_process("Chroma server", root / "server", chroma_url, questions, args.askers, args.per_asker)
        )
        out("  Chroma server done")
        out()
        out("(b) readbot run --platform slack processes; Chroma server, one PostgreSQL database, one fake Slack")
        import asyncpg

        name = f"readbot_bench_{secrets.token_hex(3)}"
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f'CREATE DATABASE "{name}"')
        process_rows: list[Row] = []
        try:
            async with TimedSlack() as fake:
                env = {
                    **child_env(),
                    "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": fake.api_url,
                    "READBOT_CHROMA_URL": chroma_url,
                    "READBOT_DATABASE_URL": f"{args.postgres.rsplit('/', 1)[0]}/{name}",
                    "READBOT_POLL_SECRET": "bench-scale-poll-secret",
                    "READBOT_LOG_LEVEL": "WARNING",
                    "READBOT_CONFIG": str(root / "no-schedules.toml"),
                }
                for n in (1, 2):
                    process_rows.append(
                        await processes(n, fake, env, root, chroma, questions, args.askers, args.per_asker, out)
                    )
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    finally:
        await asyncio.to_thread(stop, chroma)

    out()
    out(
        "Latency: (a) dispatch -> the reply reaching the responder; (b) just before the event is sent -> the fake "
        "Slack recording the answer in the question's thread."
    )
    out(
        "Loop lag: a 10 ms sleeper in the answering loop, while the askers run ((b): the bots' loops are in "
        "other processes, not measured)."
    )
    out(table(rows + process_rows))
    out()
    out("CPU used during the burst, (b):")
    for row in process_rows:
        out(f"  {row.label}: {row.cpu}")
    out()
    out(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out(f"temp dir: {root}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(out.buffer.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
