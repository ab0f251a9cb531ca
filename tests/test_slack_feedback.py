"""Around the answer on Slack, end to end through slack-bolt against the local fake Slack: 👍/👎 and
the "what was wrong?" modal, a private answer (ephemeral) shared with the channel, a rate-limited
burst, /insights, and bad input (an answer no longer stored, a second 👎 form, /insights by a member)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import AdapterKit, App, open_app
from bot.ask.answers import AnswerLog
from bot.clock import ManualClock
from bot.ops.metrics import PrometheusMetrics
from bot.settings import Settings
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    RecordedCall,
    send_block_action,
    send_slash_command,
    send_view_submission,
)

SECRET = "readbot-feedback-signing-secret"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
CHANNEL = "C0ASK0001"
MOD, MEMBER, OTHER = "U0MOD", "U0MEMBER", "U0OTHER"
COVERED = "What does Ilya say about vibe coding?"
MENTION = re.compile(r"<[@!#]")

e2e = pytest.mark.asyncio


@dataclass
class Bot:
    fake: FakeSlackAPI
    app: App
    adapter: SlackAdapter
    clock: ManualClock
    metrics: PrometheusMetrics
    url: str

    async def ask(self, text: str, user: str = MEMBER, **kw: Any) -> None:
        resp = await send_slash_command(self.url, SECRET, "/ask", text, user_id=user, channel_id=CHANNEL, **kw)
        assert resp.status == 200 and resp.body == ""
        await self.adapter.idle()

    async def command(self, name: str, text: str, user: str) -> None:
        resp = await send_slash_command(self.url, SECRET, name, text, user_id=user, channel_id=CHANNEL)
        assert resp.status == 200
        await self.adapter.idle()

    async def click(self, button: dict[str, Any], user: str, message_ts: str, **kw: Any) -> None:
        resp = await send_block_action(
            self.url,
            SECRET,
            button["action_id"],
            button["value"],
            user_id=user,
            channel_id=CHANNEL,
            message_ts=message_ts,
            **kw,
        )
        assert resp.status == 200
        await self.adapter.idle()

    def posted(self) -> list[RecordedCall]:
        return [c for c in self.fake.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL]

    def private(self, user: str) -> list[RecordedCall]:
        return [
            c
            for c in self.fake.calls_to("chat.postEphemeral")
            if c.args.get("channel") == CHANNEL and c.args.get("user") == user
        ]


def buttons_of(call: RecordedCall) -> dict[str, dict[str, Any]]:
    blocks = call.args.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    found = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return {e["text"]["text"]: e for e in found}


def button(call: RecordedCall, emoji: str) -> dict[str, Any]:
    return next(b for label, b in buttons_of(call).items() if emoji in label)


@pytest_asyncio.fixture
async def bot(knowledge_service: Any, tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeSlackAPI() as fake:
        for user, name in ((MOD, "mona"), (MEMBER, "max"), (OTHER, "olga")):
            fake.add_user(user, name)
        settings = Settings.from_env(
            {
                "READBOT_DATA_DIR": str(tmp_path / "data"),
                "READBOT_MODERATORS": MOD,
                "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "READBOT_POLL_SECRET": "test-secret",
                "READBOT_RATE_USER": "3",
                "READBOT_CONFIG": str(tmp_path / "none.toml"),
            },
            dotenv=None,
        )
        settings = dataclasses.replace(settings, http_port=0)
        clock = ManualClock(START)
        metrics = PrometheusMetrics()

        def slack(kit: AdapterKit) -> SlackAdapter:
            return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1")

        async with open_app(
            settings, adapters=[slack], knowledge=knowledge_service, clock=clock, metrics=metrics, run_tasks=False
        ) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter)
            yield Bot(fake, app, adapter, clock, metrics, f"http://127.0.0.1:{adapter.http_port}/slack/events")


@e2e
async def test_feedback_click_change_and_the_what_was_wrong_modal(bot: Bot) -> None:
    await bot.ask(COVERED)
    (answer,) = bot.posted()
    ts = answer.response["ts"]
    labels = list(buttons_of(answer))
    assert any("👍" in label for label in labels) and any("👎" in label for label in labels)

    await bot.click(button(answer, "👍"), MEMBER, ts)
    assert "Thanks for the 👍" in bot.private(MEMBER)[-1].args["text"]

    await bot.click(button(answer, "👎"), MEMBER, ts)  # changed: the modal asks what was wrong
    (opened,) = bot.fake.calls_to("views.open")
    view = opened.args["view"] if isinstance(opened.args["view"], dict) else json.loads(opened.args["view"])
    assert view["callback_id"].startswith("feedback:note:") and view["blocks"][0]["block_id"] == "note"
    resp = await send_view_submission(
        bot.url,
        SECRET,
        view["callback_id"],
        {"note": {"note": {"type": "plain_text_input", "value": "It quoted the wrong part"}}},
        user_id=MEMBER,
        private_metadata=view["private_metadata"],
    )
    assert resp.status == 200
    await bot.adapter.idle()
    assert "moderators will see" in bot.private(MEMBER)[-1].args["text"]

    await bot.click(button(answer, "👎"), MEMBER, ts)  # a second 👎 form: a private line instead
    assert len(bot.fake.calls_to("views.open")) == 1
    assert "nothing changed" in bot.private(MEMBER)[-1].args["text"]
    resp = await send_view_submission(  # the same modal submitted again: nothing changed either
        bot.url,
        SECRET,
        view["callback_id"],
        {"note": {"note": {"type": "plain_text_input", "value": "again"}}},
        user_id=MEMBER,
        private_metadata=view["private_metadata"],
    )
    await bot.adapter.idle()
    assert "already said what was wrong" in bot.private(MEMBER)[-1].args["text"]

    (row,) = await AnswerLog(bot.app.db, b"").feedback_rows()
    assert (row["verdict"], row["note"]) == ("down", "It quoted the wrong part")
    assert bot.metrics.feedback_given.value("up") == 1 and bot.metrics.feedback_given.value("down") == 1
    assert len(bot.posted()) == 1  # feedback posts nothing in the channel


@e2e
async def test_a_private_answer_is_ephemeral_and_shared_with_attribution(bot: Bot) -> None:
    await bot.ask(f"private: {COVERED}")
    assert bot.posted() == []
    (answer,) = bot.private(MEMBER)
    assert "bug" in answer.args["text"]
    share = buttons_of(answer)["Share with the channel"]

    await bot.click(share, MEMBER, answer.response["message_ts"], ephemeral=True, user_name="max")
    (shared,) = bot.posted()
    text = shared.args["text"]
    assert "shared by max" in text and "vibe coding" in text and not MENTION.search(json.dumps(shared.args))
    assert any("👍" in label for label in buttons_of(shared)) and "Share with the channel" not in buttons_of(shared)
    assert bot.private(MEMBER)[-1].args["text"] == "Shared with the channel."

    await bot.click(share, MEMBER, answer.response["message_ts"], ephemeral=True)  # twice: nothing more posted
    assert len(bot.posted()) == 1 and "already shared" in bot.private(MEMBER)[-1].args["text"]


@e2e
async def test_a_burst_is_rate_limited_privately(bot: Bot) -> None:
    for n in range(3):  # READBOT_RATE_USER=3
        await bot.ask(f"What does Ilya say about generalization, take {n}?")
    assert len(bot.posted()) == 3
    bot.clock.advance(seconds=15)
    await bot.ask("What does Ilya say about research taste?")
    assert len(bot.posted()) == 3
    assert "please try again in 45 seconds" in bot.private(MEMBER)[-1].args["text"]
    assert bot.metrics.limited.value("slack", "user") == 1
    await bot.ask(COVERED, user=MOD)  # moderators are never limited, and others still may ask
    await bot.ask(COVERED, user=OTHER)
    assert len(bot.posted()) == 5


@e2e
async def test_insights_and_bad_input(bot: Bot) -> None:
    await bot.ask(COVERED)
    await bot.ask("What did Ilya say about baking sourdough bread?")
    await bot.ask("what does ilya say about sourdough bread baking", user=OTHER)
    covered, _, _ = bot.posted()
    answer_id = button(covered, "👍")["value"]

    await bot.command("/insights", "", MEMBER)
    assert bot.private(MEMBER)[-1].args["text"] == "Only moderators can see what the group asked."
    await bot.command("/insights", "", MOD)
    report = bot.private(MOD)[-1].args["text"]
    assert "3 question(s), 1 answered" in report and "(×2)" in report

    await AnswerLog(bot.app.db, b"").delete(answer_id)  # feedback on an answer no longer stored
    await bot.click(button(covered, "👍"), MEMBER, covered.response["ts"])
    assert "no longer stored" in bot.private(MEMBER)[-1].args["text"]
    await bot.click(button(covered, "👎"), MEMBER, covered.response["ts"])
    assert "no longer stored" in bot.private(MEMBER)[-1].args["text"]
    assert bot.fake.calls_to("views.open") == [] and len(bot.posted()) == 3


@e2e
async def test_a_private_answer_goes_through_response_url_where_readbot_cant_post(bot: Bot) -> None:
    bot.fake.fail("chat.postEphemeral", error="channel_not_found")  # e.g. a channel readbot isn't in
    await bot.ask(f"private: {COVERED}", response_url=bot.fake.new_response_url())
    (sent,) = await bot.fake.wait_for_calls("response_url", 1)
    assert sent.args["response_type"] == "ephemeral" and "bug" in sent.args["text"]
    assert "Share with the channel" in json.dumps(sent.args["blocks"]) and bot.posted() == []
