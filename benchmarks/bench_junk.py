"""Junk sprayed at ``/slack/events``: how fast it is refused and how much it writes to the log.

The Slack HTTP transport readbot runs (``bot.adapters.slack.transport.HttpTransport``: the gate in
front of a real slack-bolt ``AsyncApp``) on a free local port, and ``--requests`` small bodies of
every kind of junk (a JSON list, broken JSON, invalid UTF-8, a form whose payload isn't JSON, a
non-numeric timestamp, a signed body with fields of the wrong type) posted ``--concurrency`` at a
time, half unsigned, half signed. Reported: requests per second, the statuses, the bytes and
lines logged (root logger, readbot's text format), ERROR lines, ``readbot_rejected_requests_total``.

    .venv/bin/python benchmarks/bench_junk.py [--requests 2000] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import logging
import time

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.gate import Gate
from bot.adapters.slack.transport import HttpTransport
from bot.ops.metrics import ErrorCounter, PrometheusMetrics
from tests.fakes.slack_server import sign_bytes

SECRET = "bench-signing-secret"
JUNK = [
    ("application/json", b"[1]"),
    ("application/json", b"{x"),
    ("application/json", b"\xff\xfe\xfd"),
    ("application/x-www-form-urlencoded", b"payload=%7Bx"),
    ("application/json", b'{"type": "event_callback", "event_id": 5, "event": []}'),
]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    metrics = PrometheusMetrics()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    root.addHandler(ErrorCounter(metrics))
    client = AsyncWebClient(token="xoxb-bench", base_url="http://127.0.0.1:9/api/")  # never called: all refused
    app = AsyncApp(client=client, signing_secret=SECRET)
    transport = HttpTransport(app, "127.0.0.1", 0, gate=Gate(SECRET, metrics))
    await transport.start()
    url = f"http://127.0.0.1:{transport.port}/slack/events"
    statuses: collections.Counter[int] = collections.Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(args.requests):
        queue.put_nowait(n)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            content_type, body = JUNK[n % len(JUNK)]
            headers = {"Content-Type": content_type}
            if n % 2:
                ts = "soon" if n % 7 == 0 else str(int(time.time()))
                headers.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign_bytes(SECRET, ts, body)})
            async with session.post(url, data=body, headers=headers) as resp:
                statuses[resp.status] += 1
                await resp.read()

    start = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(args.concurrency)))
    seconds = time.perf_counter() - start
    await transport.stop()
    root.removeHandler(handler)

    logged = out.getvalue()
    rejected = {
        s.labels["reason"]: int(s.value)
        for f in metrics.rejected_requests.metric.collect()
        for s in f.samples
        if s.name.endswith("_total")
    }
    errors = sum(int(s.value) for f in metrics.errors.metric.collect() for s in f.samples if s.name.endswith("_total"))
    print(
        f"{args.requests} junk requests, {args.concurrency} at a time: {seconds:.2f} s, {args.requests / seconds:.0f}/s"
    )
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(f"rejected by reason: {dict(sorted(rejected.items()))}")
    print(f"log: {len(logged.encode())} bytes, {len(logged.splitlines())} lines; readbot_errors_total {errors}")
    for line in logged.splitlines():
        print(f"  {line}")


if __name__ == "__main__":
    asyncio.run(main())
