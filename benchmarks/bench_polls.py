"""Poll voting benchmark: votes recorded per second through the core, and the time from
a click to its acknowledgement, on SQLite and on PostgreSQL.

    python benchmarks/bench_polls.py [--votes 2000] [--concurrency 50] [--postgres URL]

Each vote is a ButtonClick dispatched through readbot's dispatcher (the default middleware)
to the polls feature's button handler, built by ``bot.polls.feature.build`` as ``open_app``
builds it (moderator rules, the database upsert, the private confirmation, the coalesced card
edit), answered to a recording responder: the acknowledgement time is from dispatch to
that private confirmation. The database is real (a temp SQLite file; a fresh database on
the PostgreSQL server at --postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clock import SystemClock
from bot.core.dispatcher import Dispatcher
from bot.core.events import ButtonClick, Channel, MessageRef, Reply, User, Where
from bot.core.feature import Routes
from bot.core.outbox import Outbox
from bot.polls import feature as polls_feature
from bot.polls.claims import load_claims
from bot.polls.model import PollSpec
from bot.polls.service import PollService
from bot.store.db import Database, database_url

WHERE = Where(Channel("bench", "C1"))


class Edge:
    """The network edge: records what would be posted and edited."""

    platform = "bench"

    def __init__(self) -> None:
        self.edits = 0

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        return MessageRef(where, "card")

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        self.edits += 1

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def connected(self) -> bool:
        return True


class Ack:
    def __init__(self) -> None:
        self.at: float | None = None
        self.text = ""

    async def acknowledge(self) -> None: ...

    async def open_form(self, form: object) -> None: ...

    async def reply(self, reply: Reply) -> None:
        self.at = time.perf_counter()
        self.text = reply.text


async def run(url: str, votes: int, concurrency: int, label: str) -> None:
    db = await Database.open(url)
    edge = Edge()
    outbox = Outbox()
    outbox.register(edge)
    runtime, polls = polls_feature.build(
        PollService(db, b"bench"), outbox, SystemClock(), load_claims(), moderators=frozenset()
    )
    dispatcher = Dispatcher(Routes.of([polls]))
    spec = PollSpec("The age of scaling is over.", duration=timedelta(days=1))
    poll, card = await runtime.start(spec, WHERE, User("mod"))
    await runtime.posted(poll, await edge.send(WHERE, card))
    rng = random.Random(1)
    users = max(1, votes // 2)
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def click(n: int) -> None:
        user = User(f"U{rng.randrange(users)}")
        event = ButtonClick(f"{label}-{n}", WHERE, user, "poll:vote", f"{poll.id}:{rng.randrange(5)}")
        ack = Ack()
        async with gate:
            start = time.perf_counter()
            await dispatcher.dispatch(event, ack)
        assert ack.at is not None and "vote" in ack.text.lower(), ack.text
        latencies.append(ack.at - start)

    started = time.perf_counter()
    await asyncio.gather(*(click(n) for n in range(votes)))
    took = time.perf_counter() - started
    await runtime.live.drain()
    tally = await runtime.service.tally(poll)
    ms = np.array(latencies) * 1000
    print(
        f"{label:11s} {votes:6d} votes in {took:6.2f} s = {votes / took:7.0f} votes/s   "
        f"click→ack p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
        f"max {ms.max():6.1f} ms   voters {tally.voters}, card edits {edge.edits}"
    )
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--postgres", default=os.environ.get("READBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}, "
        f"{args.votes} clicks, {args.concurrency} at a time, ~{args.votes // 2} people (some change votes)"
    )
    await run(database_url("", Path(tempfile.mkdtemp())), args.votes, args.concurrency, "SQLite")
    import asyncpg

    name = f"readbot_bench_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = database_url(f"{args.postgres.rsplit('/', 1)[0]}/{name}", Path(tempfile.mkdtemp()))
        await run(url, args.votes, args.concurrency, "PostgreSQL")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
