"""/insights over 10,000 stored questions (target: at most 1 s), on SQLite and on PostgreSQL.

    python benchmarks/bench_insights.py [--questions 10000] [--postgres URL]

The questions are stored as chat stores them (the rows ``AnswerLog.admit``, ``finish`` and ``vote`` write,
inserted in bulk): a mix of questions
answered from the shipped reading's sections and, not covered, FairytaleQA's questions (another
reading's, so about things this one doesn't cover) with rewordings, plus 👍/👎 on a fifth of the
answers. Then a moderator's ``/insights 30`` is dispatched through readbot's dispatcher to the feedback
feature (the moderator check, the queries, the grouping of uncovered questions, the report) and timed
from dispatch to the private reply; five runs, the median and the slowest. A second scenario stores
10,000 questions *none* of which the reading covers (the grouping's worst case).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ask import feedback as feedback_feature
from bot.ask.answers import AnswerLog, citations_json
from bot.clock import ManualClock
from bot.core.dispatcher import Dispatcher
from bot.core.events import Channel, Citation, Command, Reply, User, Where
from bot.core.feature import Routes
from bot.store.db import Database, database_url
from bot.store.schema import answer_feedback, asked_questions

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WHERE = Where(Channel("bench", "C1"))
SHARED = Path(os.environ.get("READBOT_SHARED", "/work/shared"))
FRAMES = ("", "quick question: ", "does the reading say ", "can someone explain ")


def sections() -> list[str]:
    """The shipped reading's section titles: its lines that stand alone between blank lines."""
    text = (Path(__file__).resolve().parents[1] / "knowledge" / "dwarkesh-107-ilya-sutskever.txt").read_text()
    lines = text.splitlines()
    found = [
        line.strip()
        for i, line in enumerate(lines[1:-1], 1)
        if line.strip() and not lines[i - 1].strip() and not lines[i + 1].strip() and not line.startswith(" ")
    ]
    skip = {"Summary", "Watch on YouTube"}
    return [f for f in found[1:] if f not in skip and not f.startswith("Dwarkesh")] or ["Section"]


def uncovered_questions() -> list[str]:
    rows = (SHARED / "eval/fairytaleqa-val/questions.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in rows]


class Ack:
    def __init__(self) -> None:
        self.at: float | None = None
        self.text = ""

    async def acknowledge(self) -> None: ...

    async def open_form(self, form: object) -> None: ...

    async def reply(self, reply: Reply) -> None:
        self.at = time.perf_counter()
        self.text = reply.text


async def fill(db: Database, log: AnswerLog, n: int, covered_share: float, rng: random.Random) -> None:
    """The rows ``AnswerLog.admit``/``finish``/``vote`` write, inserted in bulk (storing isn't measured)."""
    titles, others = sections(), uncovered_questions()
    asked, votes = [], []
    for i in range(n):
        at = NOW - timedelta(seconds=rng.randrange(30 * 24 * 3600))
        if rng.random() < covered_share:
            question = f"What does the reading say about {rng.choice(titles).lower()} (take {i})?"
            quote = "A passage of the reading quoted as the answer's evidence, about as long as one. " * 4
            cited = citations_json([Citation(rng.choice(titles), "dwarkesh-107-ilya-sutskever.txt", "ilya", quote)])
            status = "answered"
        else:
            base = rng.choice(others)
            question = rng.choice(FRAMES) + (base if rng.random() < 0.5 else base.lower().rstrip("?"))
            cited, status = [], "declined"
        answer_id = secrets.token_hex(8)
        asked.append(
            {
                "id": answer_id,
                "platform": "bench",
                "channel_id": f"C{i % 7}",
                "asker": log.person_key("bench", f"U{rng.randrange(400)}"),
                "question": question,
                "answer": "answer",
                "citations": cited,
                "sections": [c["section"] for c in cited],
                "grounded": status == "answered",
                "status": status,
                "private": False,
                "asked_at": at,
                "shared_at": None,
            }
        )
        if rng.random() < 0.2:
            verdict = rng.choice(("up", "up", "down"))
            votes.append(
                {
                    "answer_id": answer_id,
                    "voter": log.voter_key(answer_id, "bench", f"V{i}"),
                    "verdict": verdict,
                    "note": "it missed the point" if verdict == "down" and rng.random() < 0.5 else "",
                    "at": at,
                }
            )
    async with db.engine.begin() as conn:
        await conn.execute(asked_questions.insert(), asked)
        await conn.execute(answer_feedback.insert(), votes)


async def run(url: str, n: int, covered_share: float, label: str) -> None:
    db = await Database.open(url)
    log = AnswerLog(db, b"bench")
    rng = random.Random(7)
    started = time.perf_counter()
    await fill(db, log, n, covered_share, rng)
    filled = time.perf_counter() - started
    clock = ManualClock(NOW)
    dispatcher = Dispatcher(Routes.of([feedback_feature.build(log, clock, moderators=frozenset({"mod"}))]))
    times: list[float] = []
    cpus: list[float] = []  # this process's CPU time (the machine is shared: wall time includes waiting)
    text = ""
    for k in range(5):
        ack = Ack()
        event = Command(f"{label}-{covered_share}-{k}", WHERE, User("mod"), "insights", "30")
        start, cpu = time.perf_counter(), time.process_time()
        await dispatcher.dispatch(event, ack)
        assert ack.at is not None and "question(s)" in ack.text, ack.text
        times.append(ack.at - start)
        cpus.append(time.process_time() - cpu)
        text = ack.text
    groups = text.count("\n  • ")
    print(
        f"{label:11s} {n:6d} questions ({covered_share:4.0%} covered, stored in {filled:5.1f} s): "
        f"/insights first {times[0] * 1000:5.0f} ms, median {statistics.median(times) * 1000:5.0f} ms, "
        f"slowest {max(times) * 1000:5.0f} ms "
        f"(CPU median {statistics.median(cpus) * 1000:4.0f} ms) "
        f"({'OK' if max(times) <= 1.0 else 'OVER'} the 1 s target); report lines listed {groups}"
    )
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("READBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}")
    for share in (0.7, 0.0):
        await run(database_url("", Path(tempfile.mkdtemp())), args.questions, share, "SQLite")
    import asyncpg

    for share in (0.7, 0.0):
        name = f"readbot_bench_{secrets.token_hex(3)}"
        admin = await asyncpg.connect(args.postgres)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = database_url(f"{args.postgres.rsplit('/', 1)[0]}/{name}", Path(tempfile.mkdtemp()))
            await run(url, args.questions, share, "PostgreSQL")
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
