"""Poll voting benchmark: votes recorded per second through the core, and the time from
a click to its acknowledgement, on SQLite and on PostgreSQL, at 5 and at 50 clicks in flight;
then the durable outbox: seconds from closing a poll to its final card and results being
delivered (a healthy platform), p50/p95.

    python benchmarks/bench_polls.py [--votes 2000] [--concurrency 5 50] [--closes 40] [--close-concurrency 1 5]
        [--postgres URL]

Each vote is a ButtonClick dispatched through readbot's dispatcher (the default middleware)
to the polls feature's button handler, built by ``bot.polls.feature.build`` as ``open_app``
builds it (moderator rules, the database upsert, the private confirmation, the coalesced card
edit), answered to a recording responder: the acknowledgement time is from dispatch to
that private confirmation (on Slack the click is acknowledged at that moment: the vote is stored
by then). The middleware is the default chain; the "+event log" rows add the cross-process
de-duplication claim ``open_app`` adds (one more write per click). The database is real (a temp
SQLite file; a fresh database on the PostgreSQL server at --postgres).

The outbox part closes ``--closes`` polls (each with a few votes), one at a time and 5 at a time
(``--close-concurrency``), through
``PollRuntime.close_poll`` as the Close button does: the close and its two outbox items in one
transaction, then delivered at once (the results chart drawn in a worker thread); the delay is
each item's decision → delivered, as ``readbot_outbox_delivery_seconds`` observes it.
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
from bot.core.dispatcher import Dispatcher, default_middleware
from bot.core.events import ButtonClick, Channel, MessageRef, Reply, User, Where
from bot.core.feature import Routes
from bot.core.metrics import Metrics
from bot.core.outbox import Outbox
from bot.polls import feature as polls_feature
from bot.polls.claims import load_claims
from bot.polls.model import PollSpec
from bot.polls.service import PollService
from bot.store.db import Database, database_url, is_outage
from bot.store.events import EventLog

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


class Deliveries(Metrics):
    def __init__(self) -> None:
        self.seconds: list[float] = []

    def outbox_delivered(self, kind: str, seconds: float) -> None:
        self.seconds.append(seconds)


async def run(url: str, votes: int, concurrency: int, label: str, *, event_log: bool = False) -> None:
    db = await Database.open(url)
    edge = Edge()
    outbox = Outbox()
    outbox.register(edge)  # type: ignore[arg-type]
    clock = SystemClock()
    runtime, polls = polls_feature.build(
        PollService(db, b"bench"), outbox, clock, load_claims(), moderators=frozenset()
    )
    claim = EventLog(db, clock).claim if event_log else None
    dispatcher = Dispatcher(Routes.of([polls]), middleware=default_middleware(claim=claim, unavailable=is_outage))
    label = f"{label}{' +event log' if event_log else ''}"
    spec = PollSpec("The age of scaling is over.", duration=timedelta(days=1))
    poll, card = await runtime.start(spec, WHERE, User("mod"))
    await runtime.posted(poll, await edge.send(WHERE, card))
    rng = random.Random(1)
    users = max(1, votes // 2)
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def click(n: int) -> None:
        user = User(f"U{rng.randrange(users)}")
        event = ButtonClick(
            f"{label}-{concurrency}-{n}-{secrets.token_hex(3)}",
            WHERE,
            user,
            "poll:vote",
            f"{poll.id}:{rng.randrange(5)}",
        )
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
        f"{label:22s} {concurrency:3d} in flight {votes:6d} votes in {took:6.2f} s = {votes / took:7.0f} votes/s   "
        f"click→ack p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
        f"max {ms.max():6.1f} ms   voters {tally.voters}, card edits {edge.edits}",
        flush=True,
    )
    await db.close()


async def run_closes(url: str, closes: int, label: str, at_once: int) -> None:
    db = await Database.open(url)
    edge = Edge()
    outbox = Outbox()
    outbox.register(edge)  # type: ignore[arg-type]
    observed = Deliveries()
    runtime, _ = polls_feature.build(
        PollService(db, b"bench"), outbox, SystemClock(), load_claims(), moderators=frozenset(), metrics=observed
    )
    ids = []
    for n in range(closes):
        spec = PollSpec(f"Claim number {n} for the outbox benchmark.", duration=timedelta(days=1))
        poll, card = await runtime.start(spec, WHERE, User("mod"))
        await runtime.posted(poll, await edge.send(WHERE, card))
        for voter in range(5):
            await runtime.service.vote(poll.id, f"U{voter}", (voter + n) % 5, now=datetime.now(UTC))
        ids.append(poll.id)
    await runtime.live.drain()
    gate = asyncio.Semaphore(at_once)

    async def close(poll_id: str) -> None:
        async with gate:
            assert await runtime.close_poll(poll_id) is True

    started = time.perf_counter()
    await asyncio.gather(*(close(i) for i in ids))
    took = time.perf_counter() - started
    ms = np.array(observed.seconds) * 1000
    assert len(ms) == 2 * closes
    print(
        f"{label:22s} outbox: {closes} polls closed {at_once} at a time in {took:5.2f} s, {len(ms)} items delivered   "
        f"decision→delivered p50 {np.percentile(ms, 50):6.1f} ms  p95 {np.percentile(ms, 95):6.1f} ms  "
        f"max {ms.max():6.1f} ms",
        flush=True,
    )
    await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--votes", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[5, 50])
    parser.add_argument("--closes", type=int, default=40)
    parser.add_argument("--close-concurrency", type=int, nargs="+", default=[1, 5])
    parser.add_argument(
        "--postgres", default=os.environ.get("READBOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}, "
        f"{args.votes} clicks, {' and '.join(map(str, args.concurrency))} at a time, "
        f"~{args.votes // 2} people (some change votes)"
    )
    for concurrency in args.concurrency:
        await run(database_url("", Path(tempfile.mkdtemp())), args.votes, concurrency, "SQLite")
    await run(database_url("", Path(tempfile.mkdtemp())), args.votes, min(args.concurrency), "SQLite", event_log=True)
    for at_once in args.close_concurrency:
        await run_closes(database_url("", Path(tempfile.mkdtemp())), args.closes, "SQLite", at_once)
    import asyncpg

    name = f"readbot_bench_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(args.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = database_url(f"{args.postgres.rsplit('/', 1)[0]}/{name}", Path(tempfile.mkdtemp()))
        for concurrency in args.concurrency:
            await run(url, args.votes, concurrency, "PostgreSQL")
        await run(url, args.votes, min(args.concurrency), "PostgreSQL", event_log=True)
        for at_once in args.close_concurrency:
            await run_closes(url, args.closes, "PostgreSQL", at_once)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
