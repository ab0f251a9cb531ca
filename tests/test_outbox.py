"""Nothing lost, nothing silent: poll results and scheduled prompts through Slack errors and restarts.

End to end as ``readbot run`` opens it (``open_app``: the database, the features, the real slack-bolt
adapter in HTTP mode, the durable outbox), with ``tests/fakes/slack_server.FakeSlackAPI`` playing
Slack and injecting its failures: an ``internal_error`` (HTTP 200, ``ok: false``) and a 429 with
``Retry-After``, as Slack sends them. Time is a ManualClock, so the outbox's backoff and the
platform's Retry-After pass by ``clock.advance`` and ``app.deliveries.flush()``, never by sleeping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import AdapterKit, App, open_app
from bot.clock import ManualClock
from bot.core.events import Channel, Reply, Where
from bot.core.outbox import Outbox
from bot.ops import health as ops
from bot.ops.metrics import PrometheusMetrics
from bot.polls.export import list_polls
from bot.settings import Settings
from bot.store.outbox import Backlog, DurableOutbox, backoff
from bot.store.schema import outbox_items, prompt_claims
from tests.fakes.recording import RecordingAdapter
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    RecordedCall,
    new_ts,
    send_app_mention,
    send_block_action,
    send_slash_command,
)
from tests.polls_support import open_database

SECRET = "readbot-outbox-signing-secret"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
CHANNEL, PROMPTS = "C0OUTBOX1", "C0PROMPTS1"
MOD = "U0MOD"
VOTERS = ("U0VOTER1", "U0VOTER2", "U0VOTER3")
CLAIM = "Humans should merge with AI to keep their agency."

pytestmark = pytest.mark.asyncio


@dataclass
class Bot:
    fake: FakeSlackAPI
    app: App
    adapter: SlackAdapter
    clock: ManualClock
    metrics: PrometheusMetrics
    base: str

    @property
    def url(self) -> str:
        return f"{self.base}/slack/events"

    async def command(self, text: str, user: str = MOD) -> None:
        resp = await send_slash_command(self.url, SECRET, "/poll", text, user_id=user, channel_id=CHANNEL)
        assert resp.status == 200

    async def click(self, button: dict[str, Any], user: str, card_ts: str) -> None:
        resp = await send_block_action(
            self.url, SECRET, button["action_id"], button["value"], user_id=user, channel_id=CHANNEL, message_ts=card_ts
        )
        assert resp.status == 200

    def calls(self, method: str, channel: str = CHANNEL, *, ok: bool | None = None) -> list[RecordedCall]:
        return [
            c
            for c in self.fake.calls_to(method)
            if c.args.get("channel") == channel and (ok is None or bool(c.response.get("ok")) is ok)
        ]

    async def private_to(self, user: str, count: int = 1) -> list[str]:
        calls = await self.fake.wait_for_calls(
            "chat.postEphemeral", count, lambda c: c.args.get("channel") == CHANNEL and c.args.get("user") == user
        )
        return [c.args["text"] for c in calls]

    async def settled(self) -> None:
        await self.adapter.idle()
        await self.app.polls.live.drain()

    def gauge(self, name: str) -> float:
        for family in text_string_to_metric_families(self.metrics.render()):
            for sample in family.samples:
                if sample.name == name:
                    return float(sample.value)
        raise AssertionError(f"no {name} sample")

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(f"{self.base}/readyz") as resp:
            return resp.status, await resp.json()


def buttons_of(call: RecordedCall) -> list[dict[str, Any]]:
    return [e for b in call.args.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def settings_for(fake: FakeSlackAPI, data: Path, config: Path, **extra: str) -> Settings:
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(data),
            "READBOT_MODERATORS": MOD,
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_POLL_SECRET": "test-poll-secret",
            "READBOT_CONFIG": str(config),
            **extra,
        },
        dotenv=None,
    )
    return dataclasses.replace(settings, http_port=0)


@asynccontextmanager
async def running(
    fake: FakeSlackAPI,
    tmp_path: Path,
    knowledge: Any,
    clock: ManualClock,
    *,
    run_tasks: bool = False,
    database_url: str = "",
    data: Path | None = None,
) -> AsyncIterator[Bot]:
    config = tmp_path / "readbot.toml"
    config.write_text(f'[[schedule]]\nplatform = "slack"\nchannel = "{PROMPTS}"\ncron = "0 10 * * *"\n')
    extra = {"READBOT_DATABASE_URL": database_url} if database_url else {}
    settings = settings_for(fake, data or tmp_path / "data", config, **extra)
    metrics = PrometheusMetrics()
    health = ops.Health(["slack"])
    routes = ops.routes(health, metrics, healthz_too=False)

    def slack(kit: AdapterKit) -> SlackAdapter:
        return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1", extra_routes=routes, commands=kit.commands)

    async with open_app(
        settings,
        adapters=[slack],
        knowledge=knowledge,
        clock=clock,
        metrics=metrics,
        health=health,
        run_tasks=run_tasks,
    ) as app:
        (adapter,) = app.adapters
        assert isinstance(adapter, SlackAdapter)
        yield Bot(fake, app, adapter, clock, metrics, f"http://127.0.0.1:{adapter.http_port}")


@asynccontextmanager
async def slack_fake() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        for user in (MOD, *VOTERS):
            fake.add_user(user, user.lower())
        yield fake


async def start_poll_with_votes(bot: Bot) -> tuple[RecordedCall, dict[str, dict[str, Any]]]:
    await bot.command(CLAIM)
    card = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    buttons = {b["text"]["text"]: b for b in buttons_of(card)}
    for voter, label in zip(VOTERS, ("Agree", "Agree", "Disagree"), strict=True):
        await bot.click(buttons[label], voter, card.response["ts"])
        await bot.private_to(voter)
    await bot.settled()
    return card, buttons


def results_posts(bot: Bot) -> list[RecordedCall]:
    return [c for c in bot.calls("chat.postMessage", ok=True) if c.args["text"].startswith("Results: ")]


async def test_an_internal_error_while_a_poll_closes_delays_the_results_but_never_loses_them(
    knowledge_service: Any, tmp_path: Path
) -> None:
    async with slack_fake() as fake, running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
        card, buttons = await start_poll_with_votes(bot)
        poll_id = buttons["Close poll"]["value"]
        fake.fail("chat.update", error="internal_error")  # the final card edit fails once
        fake.fail("chat.postMessage", error="internal_error")  # and so does the results post
        await bot.click(buttons["Close poll"], MOD, card.response["ts"])
        assert (await bot.private_to(MOD))[0] == (
            "Poll closed. Slack didn't take the results (or the final card) just now; I'll keep trying until it does."
        )
        await bot.settled()
        assert results_posts(bot) == []

        # visible while owed: polls list, /readyz (details, not a failure), the gauge
        listed = await list_polls(bot.app.polls.service)
        assert f"{poll_id}  closed" in listed and "results pending" in listed
        status, body = await bot.readyz()
        assert status == 200 and body["outbox"]["pending"] == 2 and body["outbox"]["failed"] == 0
        assert await bot.app.deliveries.flush() == 0  # nothing due before the first backoff
        assert bot.gauge("readbot_outbox_pending") == 2

        # a second Close is told the truth: closed already (the results are on their way)
        await bot.click(buttons["Close poll"], MOD, card.response["ts"])
        assert (await bot.private_to(MOD, 2))[1] == "This poll is already closed."

        bot.clock.advance(seconds=backoff(1))
        assert await bot.app.deliveries.flush() == 2
        final = bot.calls("chat.update", ok=True)[-1]
        assert final.args["ts"] == card.response["ts"] and buttons_of(final) == []
        (results,) = results_posts(bot)
        assert "Agree: 2 (67%)" in results.args["text"] and "3 voters" in results.args["text"]
        assert "results pending" not in await list_polls(bot.app.polls.service)
        assert bot.gauge("readbot_outbox_pending") == 0
        assert (await bot.readyz())[1]["outbox"]["pending"] == 0

        bot.clock.advance(minutes=10)  # delivered once: nothing is posted again
        assert await bot.app.deliveries.flush() == 0 and len(results_posts(bot)) == 1


async def test_a_429_at_the_deadline_is_waited_out_as_slack_asks(
    knowledge_service: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with slack_fake() as fake, running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
        card, _ = await start_poll_with_votes(bot)
        fake.rate_limit("chat.update", retry_after=20)
        bot.clock.advance(minutes=61)
        assert await bot.app.polls.close_due() == 1
        assert [c.status for c in fake.calls_to("chat.update")][-1] == 429
        assert "trying again in 20s (the platform's Retry-After)" in caplog.text
        # the results went out; the card waits for Slack's 20 s, not for the 1 s backoff
        assert len(results_posts(bot)) == 1
        edits = len(fake.calls_to("chat.update"))
        bot.clock.advance(seconds=19)
        assert await bot.app.deliveries.flush() == 0 and len(fake.calls_to("chat.update")) == edits
        bot.clock.advance(seconds=1)
        assert await bot.app.deliveries.flush() == 1
        final = bot.calls("chat.update", ok=True)[-1]
        assert final.args["ts"] == card.response["ts"] and buttons_of(final) == []
        assert "closed 03 Nov 10:01 UTC" in final.args["text"]


async def test_a_scheduled_prompt_survives_an_internal_error_and_a_429(knowledge_service: Any, tmp_path: Path) -> None:
    async with slack_fake() as fake, running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
        await bot.app.prompts.tick()  # 09:00: the channel is looked at from now on
        fake.fail("chat.postMessage", error="internal_error")
        fake.rate_limit("chat.postMessage", retry_after=30)
        bot.clock.advance(hours=1)  # 10:00, the slot
        [outcome] = await bot.app.prompts.tick()
        assert outcome.status == "pending"
        bot.clock.advance(seconds=1)
        assert await bot.app.deliveries.flush() == 0  # the 429 now: Slack says 30 s
        bot.clock.advance(seconds=29)
        assert await bot.app.deliveries.flush() == 0
        bot.clock.advance(seconds=1)
        assert await bot.app.deliveries.flush() == 1
        posts = bot.calls("chat.postMessage", PROMPTS, ok=True)
        assert len(posts) == 1 and "Discussion question: " in posts[0].args["text"]
        assert [c.response.get("error") for c in bot.calls("chat.postMessage", PROMPTS)] == [
            "internal_error",
            "ratelimited",
            None,
        ]
        async with bot.app.db.engine.connect() as conn:
            row = (await conn.execute(select(prompt_claims))).one()
        assert (row.status, row.attempts, row.message_id) == ("posted", 3, posts[0].response["ts"])


async def test_results_owed_when_readbot_stops_are_posted_by_the_next_start(
    knowledge_service: Any, tmp_path: Path
) -> None:
    async with slack_fake() as fake:
        async with running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
            card, buttons = await start_poll_with_votes(bot)
            fake.fail("chat.update", error="internal_error")
            fake.fail("chat.postMessage", error="internal_error")
            await bot.click(buttons["Close poll"], MOD, card.response["ts"])
            await bot.private_to(MOD)
            await bot.settled()
            assert results_posts(bot) == []
        # stopped with two items owed; the next start's worker (run_tasks) delivers them on its first pass
        clock = ManualClock(START.replace(minute=5))
        async with running(fake, tmp_path, knowledge_service, clock, run_tasks=True) as again:
            (results,) = [
                c
                for c in await fake.wait_for_calls(
                    "chat.postMessage", 2, lambda c: c.args.get("channel") == CHANNEL and bool(c.response.get("ok"))
                )
                if c.args["text"].startswith("Results: ")
            ]
            assert "3 voters" in results.args["text"]
            final = await fake.wait_for_call(
                "chat.update",
                lambda c: bool(c.response.get("ok")) and buttons_of(c) == [] and "closed" in c.args["text"],
            )
            assert final.args["ts"] == card.response["ts"]

            async def statuses() -> list[tuple[str, str]]:
                async with again.app.db.engine.connect() as conn:
                    rows = (await conn.execute(select(outbox_items.c.kind, outbox_items.c.status))).all()
                return sorted((r[0], r[1]) for r in rows)

            for _ in range(400):  # the results' chart upload comes after the post: up to 20 s on a busy machine
                if await statuses() == [("poll.card", "delivered"), ("poll.results", "delivered")]:
                    break
                await asyncio.sleep(0.05)
            assert await statuses() == [("poll.card", "delivered"), ("poll.results", "delivered")]
            assert len(results_posts(again)) == 1


async def test_an_error_retrying_cant_fix_is_given_up_at_once_and_counted(
    knowledge_service: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_fake() as fake, running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
        card, buttons = await start_poll_with_votes(bot)
        fake.fail("chat.update", error="message_not_found")  # someone deleted the card
        await bot.click(buttons["Close poll"], MOD, card.response["ts"])
        await bot.private_to(MOD)
        await bot.settled()
        assert len(results_posts(bot)) == 1  # the results still went out
        assert "outbox poll.card for" in caplog.text and "given up (an error retrying can't fix)" in caplog.text
        status, body = await bot.readyz()
        assert status == 200 and (body["outbox"]["pending"], body["outbox"]["failed"]) == (0, 1)
        assert "results NOT delivered" in await list_polls(bot.app.polls.service)
        assert bot.metrics.outbox_failures.value("poll.card") == 1


async def test_an_answer_slack_refused_is_owed_and_posted_in_its_thread(knowledge_service: Any, tmp_path: Path) -> None:
    async with slack_fake() as fake, running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
        fake.fail("chat.postMessage", error="internal_error")
        ts = new_ts()
        sent = await send_app_mention(bot.url, SECRET, "What does Ilya say about vibe coding?", channel=CHANNEL, ts=ts)
        assert sent.status == 200  # Slack was told at once: it will not send the question again
        await bot.settled()
        [refused] = bot.calls("chat.postMessage")
        assert refused.response["error"] == "internal_error" and refused.args["thread_ts"] == ts
        assert bot.fake.calls_to("chat.postEphemeral") == []  # no apology: the answer is on its way
        bot.clock.advance(seconds=backoff(1))
        assert await bot.app.deliveries.flush() == 1
        [answer] = bot.calls("chat.postMessage", ok=True)
        assert answer.args["thread_ts"] == ts and answer.args["text"] == refused.args["text"]


# ============================================================================ the outbox itself


async def test_backoff_doubles_from_one_second_to_five_minutes() -> None:
    assert [backoff(n) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_processes_deliver_each_item_once_and_old_deliveries_are_pruned(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        clock = ManualClock(START)
        edges, outboxes = [], []
        for _ in range(2):  # two replicas on one database, each with its own adapter
            router = Outbox()
            edge = RecordingAdapter("slack")
            router.register(edge)  # type: ignore[arg-type]
            edges.append(edge)
            outboxes.append(DurableOutbox(db, router, clock))
        where = Where(Channel("slack", "C1"), "1.5")
        for n in range(20):
            await outboxes[0].owe(where, Reply(f"answer {n}"), RuntimeError("503"))
        assert (await outboxes[1].backlog()).pending == 20
        clock.advance(seconds=1)
        done = await asyncio.gather(*(o.flush() for o in outboxes))
        assert sum(done) == 20
        sent = [reply.text for edge in edges for _, reply in edge.sent]
        assert sorted(sent) == sorted(f"answer {n}" for n in range(20))  # each once, across both
        assert all(w == where for edge in edges for w, _ in edge.sent)
        assert (await outboxes[0].backlog()) == Backlog(0, 0, None)

        clock.advance(days=8)
        await outboxes[0]._prune()
        async with db.engine.connect() as conn:
            assert (await conn.execute(select(outbox_items))).all() == []


async def test_an_answer_to_a_channel_readbot_is_not_in_is_not_owed(knowledge_service: Any, tmp_path: Path) -> None:
    async with slack_fake() as fake, running(fake, tmp_path, knowledge_service, ManualClock(START)) as bot:
        fake.fail("chat.postMessage", error="channel_not_found")
        await send_app_mention(bot.url, SECRET, "What does Ilya say about vibe coding?", channel=CHANNEL)
        await bot.settled()
        assert (await bot.app.deliveries.backlog()) == Backlog(0, 0, None)  # nothing retried for a day
        [apology] = bot.fake.calls_to("chat.postEphemeral")
        assert apology.args["text"].startswith("Sorry, something went wrong")
