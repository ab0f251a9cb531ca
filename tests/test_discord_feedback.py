"""Around the answer on Discord, end to end through discord.py against the local fake Discord: 👍/👎 and
the "what was wrong?" modal, a private /ask (ephemeral) shared with the channel, a rate-limited burst,
/insights, and bad input (an answer no longer stored, a second 👎 form, /insights by a member).

One bot for the module; each scenario uses its own channel and its own member (the rate limit is per
person, three questions a minute here)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.app import AdapterKit, App, open_app
from bot.ask.answers import AnswerLog
from bot.clock import ManualClock
from bot.ops.metrics import PrometheusMetrics
from bot.settings import Settings
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, InteractionRef, RecordedCall

TOKEN = "MTIz.fake.token"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
COVERED = "What does Ilya say about vibe coding?"
WAIT = 10.0
aio = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    fake: FakeDiscord
    app: App
    adapter: DiscordAdapter
    metrics: PrometheusMetrics

    async def settle(self, ref: InteractionRef) -> RecordedCall:
        """The interaction's first response, once every follow-up it led to is sent."""
        callback = await self.fake.wait_for_interaction_response(ref, timeout=WAIT)
        await self.adapter.idle()
        return callback

    async def ask(self, user: int, channel: int, question: str, **options: Any) -> InteractionRef:
        ref = await self.fake.send_slash_command(
            "ask", {"question": question, **options}, user=user, channel_id=channel
        )
        await self.settle(ref)
        return ref

    async def click(self, message: dict[str, Any], emoji: str, user: int) -> tuple[InteractionRef, RecordedCall]:
        custom_id = next(cid for label, cid in buttons(message) if emoji in label)
        ref = await self.fake.click_button(int(message["id"]), custom_id, user=user)
        return ref, await self.settle(ref)

    def followups(self, ref: InteractionRef) -> list[RecordedCall]:
        path = f"/webhooks/{self.fake.application_id}/{ref.token}"
        return [c for c in self.fake.calls if c.method == "POST" and c.path == path]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["label"], b["custom_id"]) for row in message.get("components") or [] for b in row["components"]]


def public(fake: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages_in(channel)
        if m["author"]["id"] == str(fake.bot_user_id) and not m["flags"] & EPHEMERAL
    ]


def ephemeral_text(callback: RecordedCall) -> str:
    body = callback.json
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL, body
    assert body["data"]["allowed_mentions"] == {"parse": []}
    return str(body["data"]["content"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, knowledge_service: Any) -> AsyncIterator[World]:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(tmp_path_factory.mktemp("discord-feedback")),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "READBOT_RATE_USER": "3",
            "READBOT_CONFIG": str(tmp_path_factory.mktemp("no-config") / "none.toml"),
        },
        dotenv=None,
    )
    metrics = PrometheusMetrics()

    def discord_adapter(kit: AdapterKit) -> DiscordAdapter:
        return DiscordAdapter(
            kit.settings, kit.dispatcher, commands=kit.commands, state=kit.state, guild_ready_timeout=0.1
        )

    try:
        async with open_app(
            settings,
            adapters=[discord_adapter],
            knowledge=knowledge_service,
            clock=ManualClock(START),
            metrics=metrics,
            run_tasks=False,
        ) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, DiscordAdapter)
            yield World(fake, app, adapter, metrics)
    finally:
        await fake.stop()


@aio
async def test_ask_declares_a_private_option(world: World) -> None:
    (ask,) = [c for cmds in world.fake.commands.values() for c in cmds if c["name"] == "ask"]
    private = next(o for o in ask["options"] if o["name"] == "private")
    assert [c["value"] for c in private["choices"]] == ["yes", "no"] and not private.get("required")
    assert any(c["name"] == "insights" for cmds in world.fake.commands.values() for c in cmds)


@aio
async def test_feedback_click_change_and_the_what_was_wrong_modal(world: World) -> None:
    fake = world.fake
    channel, member = fake.add_text_channel("ask-feedback"), fake.add_member("fay")
    await world.ask(member, channel, COVERED)
    (answer,) = public(fake, channel)
    labels = [label for label, _ in buttons(answer)]
    assert any("👍" in label for label in labels) and any("👎" in label for label in labels)

    _, callback = await world.click(answer, "👍", member)
    assert "Thanks for the 👍" in ephemeral_text(callback)

    _, callback = await world.click(answer, "👎", member)  # changed: a modal asks what was wrong
    assert callback.json["type"] == 9, callback.json
    modal = callback.json["data"]
    assert modal["custom_id"].startswith("readbot-form:feedback:note:") and modal["title"] == "What was wrong?"
    (row,) = modal["components"]
    assert row["components"][0]["custom_id"] == "note" and row["components"][0]["required"] is True

    ref = await fake.submit_modal(
        modal["custom_id"], {"note": "It quoted the wrong part"}, user=member, channel_id=channel
    )
    assert "moderators will see" in ephemeral_text(await world.settle(ref))

    _, callback = await world.click(answer, "👎", member)  # a second 👎 form: one private line instead
    assert "nothing changed" in ephemeral_text(callback)
    ref = await fake.submit_modal(modal["custom_id"], {"note": "again"}, user=member, channel_id=channel)
    assert "already said what was wrong" in ephemeral_text(await world.settle(ref))

    rows = [r for r in await AnswerLog(world.app.db, b"").feedback_rows() if r["note"]]
    assert [(r["verdict"], r["note"]) for r in rows] == [("down", "It quoted the wrong part")]
    assert world.metrics.feedback_given.value("down") >= 1
    assert len(public(fake, channel)) == 1  # feedback posts nothing in the channel


@aio
async def test_a_private_answer_is_ephemeral_and_shared_with_attribution(world: World) -> None:
    fake = world.fake
    channel, member = fake.add_text_channel("ask-private"), fake.add_member("pia")
    ref = await fake.send_slash_command("ask", {"question": COVERED, "private": "yes"}, user=member, channel_id=channel)
    first = await world.settle(ref)
    assert public(fake, channel) == []  # nothing public, not even a "thinking…" message
    # deferred at once, ephemerally: the "thinking…" only the asker sees, which the answer replaces
    assert first.json["type"] == 5 and first.json["data"]["flags"] & EPHEMERAL
    (followup,) = world.followups(ref)
    data, answer_id = followup.json, int(followup.response["id"])
    assert data["flags"] & EPHEMERAL and "bug" in data["content"]
    answer = fake.messages[int(answer_id or 0)]
    assert [label for label, _ in buttons(answer)][-1] == "Share with the channel"

    share, callback = await world.click(answer, "Share", member)
    body = callback.json
    assert body["type"] == 4 and not body["data"].get("flags", 0) & EPHEMERAL
    assert "shared by Pia" in body["data"]["content"] and body["data"]["allowed_mentions"] == {"parse": []}
    (shared,) = public(fake, channel)
    assert any("👍" in label for label, _ in buttons(shared))
    assert "Shared with the channel." in world.followups(share)[-1].json["content"]

    _, callback = await world.click(answer, "Share", member)
    assert "already shared" in ephemeral_text(callback) and len(public(fake, channel)) == 1
    _, callback = await world.click(answer, "Share", fake.add_member("nosy"))
    assert "Only the person who asked" in ephemeral_text(callback)
    stored = json.dumps(await AnswerLog(world.app.db, b"").asked_since(START))
    assert str(member) not in stored and "Pia" not in stored  # people are kept as keyed hashes only


@aio
async def test_a_burst_is_rate_limited_privately(world: World) -> None:
    fake = world.fake
    channel, member = fake.add_text_channel("ask-burst"), fake.add_member("bea")
    for n in range(3):
        await world.ask(member, channel, f"What does Ilya say about generalization, take {n}?")
    assert len(public(fake, channel)) == 3
    ref = await fake.send_slash_command("ask", {"question": COVERED}, user=member, channel_id=channel)
    assert "please try again in 60 seconds" in ephemeral_text(await world.settle(ref))
    assert len(public(fake, channel)) == 3 and world.metrics.limited.value("discord", "user") == 1
    await world.ask(fake.moderator_id, channel, COVERED)  # moderators are never limited
    assert len(public(fake, channel)) == 4


@aio
async def test_insights_and_bad_input(world: World) -> None:
    fake = world.fake
    channel, member = fake.add_text_channel("ask-insights"), fake.add_member("ivy")
    await world.ask(member, channel, "What did Ilya say about baking sourdough bread?")
    ref = await fake.send_slash_command("insights", {}, user=member, channel_id=channel)
    assert ephemeral_text(await world.settle(ref)) == "Only moderators can see what the group asked."
    ref = await fake.send_slash_command("insights", {"days": "1"}, user=fake.moderator_id, channel_id=channel)
    await world.settle(ref)
    (report,) = world.followups(ref)
    assert report.json["flags"] & EPHEMERAL and "sourdough" in report.json["content"]

    (answer,) = public(fake, channel)
    answer_id = buttons(answer)[0][1].split("|", 1)[1]
    await AnswerLog(world.app.db, b"").delete(answer_id)
    _, callback = await world.click(answer, "👎", member)
    assert "no longer stored" in ephemeral_text(callback)
