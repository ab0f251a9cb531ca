"""The everyday basics on Slack, end to end: the real slack-bolt adapter (HTTP mode, signed requests)
against ``tests/fakes/slack_server.FakeSlackAPI``, readbot opened as ``readbot run`` opens it.

``/readbot help`` (and a mention whose whole text is "help") lists the commands this person may use;
``/readbot <anything else>`` answers with the same list; ``/poll cancel`` ends a poll with no results;
the poll card gives its close time in the channel's time zone (its schedule in readbot.toml); the
new-poll form keeps a "|" inside a claim."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import AdapterKit, open_app
from bot.clock import ManualClock
from bot.polls.handlers import NEW_POLL_FORM
from bot.settings import Settings
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    send_app_mention,
    send_slash_command,
    send_view_submission,
)
from tests.test_slack_polls import (
    ADMIN,
    CHANNEL,
    MEMBER,
    MOD,
    SECRET,
    START,
    Bot,
    buttons_of,
    to,
    typed,
)

e2e = pytest.mark.asyncio
TOKYO_CHANNEL = "C0TOKYO01"
SCHEDULES = f"""
[[schedule]]
platform = "slack"
channel = "{TOKYO_CHANNEL}"
cron = "0 9 * * 1-5"
timezone = "Asia/Tokyo"
"""


@pytest_asyncio.fixture
async def bot(knowledge_service: Any, tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeSlackAPI() as fake:
        for user, name in ((MOD, "mona"), (MEMBER, "max")):
            fake.add_user(user, name)
        fake.add_user(ADMIN, "ada", is_admin=True)
        config = tmp_path / "readbot.toml"
        config.write_text(SCHEDULES, encoding="utf-8")
        settings = Settings.from_env(
            {
                "READBOT_DATA_DIR": str(tmp_path / "data"),
                "READBOT_MODERATORS": MOD,
                "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "READBOT_POLL_SECRET": "test-poll-secret",
                "READBOT_CONFIG": str(config),
                "READBOT_TIMEZONE": "America/New_York",  # channels without a schedule
            },
            dotenv=None,
        )
        settings = dataclasses.replace(settings, http_port=0)

        def slack(kit: AdapterKit) -> SlackAdapter:
            return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1", commands=kit.commands)

        async with open_app(
            settings, adapters=[slack], knowledge=knowledge_service, clock=ManualClock(START), run_tasks=False
        ) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter)
            yield Bot(fake, app, adapter, app.clock, f"http://127.0.0.1:{adapter.http_port}/slack/events")  # type: ignore[arg-type]


async def slash(bot: Bot, command: str, text: str, user: str, channel: str = CHANNEL) -> None:
    resp = await send_slash_command(bot.url, SECRET, command, text, user_id=user, channel_id=channel)
    assert resp.status == 200 and resp.body == ""


FOR_MEMBERS = ["/ask", "/prompt", "/reading", "/recap", "/readbot"]  # what /help lists for a member


def commands_in(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith("• /")]


@e2e
async def test_readbot_help_for_a_member_a_moderator_and_an_admin(bot: Bot) -> None:
    await slash(bot, "/readbot", "help", MEMBER)
    (member,) = await bot.private_to(MEMBER)
    assert commands_in(member) == FOR_MEMBERS and "Moderators have more commands" in member
    assert "• /readbot help [command]: List the commands" in member  # as help is typed on Slack
    await slash(bot, "/readbot", "help", MOD)  # READBOT_MODERATORS
    (moderator,) = await bot.private_to(MOD)
    assert commands_in(moderator) == ["/ask", "/insights", "/poll", "/prompt", "/reading", "/recap", "/readbot"]
    assert "• /poll [claim | option | option]" in moderator and "cancel [ID]" in moderator
    await slash(bot, "/readbot", "", ADMIN)  # a workspace admin is a moderator too; /readbot alone is help
    (admin,) = await bot.private_to(ADMIN)
    assert admin == moderator

    # a mention whose whole text is "help": the same list, privately, for who asked
    resp = await send_app_mention(bot.url, SECRET, "help", user=MEMBER, channel=CHANNEL)
    assert resp.status == 200
    again = await bot.fake.wait_for_calls("chat.postEphemeral", 2, to(MEMBER))
    assert again[-1].args["text"] == member
    await bot.settled()
    assert bot.calls("chat.postMessage") == []  # nothing public


@e2e
async def test_an_unknown_command_and_extra_words_each_get_one_private_answer(bot: Bot) -> None:
    await slash(bot, "/readbot", "frobnicate now", MEMBER)
    (unknown,) = await bot.private_to(MEMBER)
    first, _, listing = unknown.partition("\n")
    assert first == "I don't know the command /frobnicate." and commands_in(listing) == FOR_MEMBERS
    await slash(bot, "/readbot", "help extra words", MEMBER)
    said = (await bot.private_to(MEMBER, 2))[-1]
    assert "\n" not in said and said.startswith("Help takes at most one command's name")
    await slash(bot, "/readbot", "ask What does Ilya say about vibe coding?", MEMBER)  # any command, by its name
    answer = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    assert "bug" in answer.args["text"]


@e2e
async def test_a_cancelled_poll_posts_nothing_and_bad_cancels_change_nothing(bot: Bot) -> None:
    await slash(bot, "/poll", "cancel", MOD)
    assert await bot.private_to(MOD) == ["There is no open poll here to cancel."]
    await slash(bot, "/poll", "A mistyped poll | yes | no", MOD)
    card = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    assert "closes 03 Nov 05:00 EST" in card.args["text"]  # READBOT_TIMEZONE for a channel without a schedule
    (poll,) = await bot.app.polls.service.all()

    await slash(bot, "/poll", "cancel", MEMBER)
    assert await bot.private_to(MEMBER) == ["Only moderators can cancel polls."]
    await slash(bot, "/poll", f"cancel {poll.id}", MOD, channel="C0ELSEWHERE")  # not from another channel
    assert await bot.private_to(MOD, channel="C0ELSEWHERE") == ["No poll in this channel has that id."]
    assert (await bot.app.polls.service.get(poll.id)).status == "open"  # type: ignore[union-attr]

    await slash(bot, "/poll", f"cancel {poll.id}", MOD)
    said = (await bot.private_to(MOD, 2))[-1]
    assert said == "Poll cancelled: “A mistyped poll”. No results are posted."
    await bot.settled()
    (update,) = bot.calls("chat.update")
    assert update.args["ts"] == card.response["ts"] and buttons_of(update) == []
    assert "This poll was cancelled by a moderator (03 Nov 04:00 EST)" in update.args["text"]
    assert len(bot.calls("chat.postMessage")) == 1  # the card only: no results
    assert bot.fake.calls_to("files.getUploadURLExternal") == [] and bot.fake.calls_to("files.upload") == []
    assert (await bot.app.polls.service.get(poll.id)).status == "cancelled"  # type: ignore[union-attr]


@e2e
async def test_close_times_are_in_the_channels_schedule_time_zone(bot: Bot) -> None:
    await slash(bot, "/poll", "Tokyo reads faster | yes | no duration=2h", MOD, channel=TOKYO_CHANNEL)
    card = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == TOKYO_CHANNEL)
    assert "closes 03 Nov 20:00 JST" in card.args["text"]  # 09:00 UTC + 2h, in Asia/Tokyo
    for block in card.args["blocks"]:
        assert "UTC" not in str(block)


@e2e
async def test_the_new_poll_form_keeps_a_bar_inside_a_claim(bot: Bot) -> None:
    await slash(bot, "/poll", "", MOD)
    view = (await bot.fake.wait_for_call("views.open")).args["view"]
    claim = "Either | or: the reading forces a choice between scale and research"
    values = {**typed("claim", claim), **typed("options", "Scale\nResearch | ideas"), **typed("duration", "30m")}
    resp = await send_view_submission(
        bot.url, SECRET, NEW_POLL_FORM, values, user_id=MOD, private_metadata=view["private_metadata"]
    )
    assert resp.status == 200
    card = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    assert f"Poll: “{claim}”" in card.args["text"]
    (poll,) = await bot.app.polls.service.all()
    assert poll.claim == claim and poll.options == ("Scale", "Research | ideas")  # one option per line
    assert [b["text"]["text"] for b in buttons_of(card)] == ["Scale", "Research | ideas", "Close poll"]


@e2e
async def test_prompt_add_next_and_list_on_slack_refuse_bad_input_privately(bot: Bot) -> None:
    service = bot.app.prompts.service
    before = await service.peek("slack", TOKYO_CHANNEL, 5)
    for text, user, said in [
        ("add next <@U0MEMBER> what do you make of the ending?", MOD, "can't mention people"),
        ("add next " + "Why does this matter so much? " * 11, MOD, "keep it to 280"),
        ("add next Which passage would you reread first, and why?", MEMBER, "Only moderators"),
    ]:
        await slash(bot, "/prompt", text, user, channel=TOKYO_CHANNEL)
        answer = (await bot.fake.wait_for_calls("chat.postEphemeral", 1, lambda c, t=said: t in c.args["text"]))[0]
        assert answer.args["channel"] == TOKYO_CHANNEL and "\n" not in answer.args["text"]
    assert (
        await service.peek("slack", TOKYO_CHANNEL, 5) == before
        and await service.custom_questions("slack", TOKYO_CHANNEL) == []
    )

    question = "Which passage would you reread first, and why?"
    await slash(bot, "/prompt", f"add next {question}", MOD, channel=TOKYO_CHANNEL)
    added = await bot.fake.wait_for_calls("chat.postEphemeral", 1, lambda c: c.args["text"].startswith("Added: "))
    assert "it is the next question posted here, on Wed 4 Nov 09:00 JST" in added[0].args["text"]
    await slash(bot, "/prompt", "list", MOD, channel=TOKYO_CHANNEL)
    listing = await bot.fake.wait_for_calls("chat.postEphemeral", 1, lambda c: c.args["text"].startswith("The next 5"))
    lines = listing[0].args["text"].splitlines()
    assert lines[1].startswith(f"1. {question} (Wed 4 Nov 09:00 JST)") and len(lines) == 6
    await bot.settled()
    assert bot.calls("chat.postMessage", channel=TOKYO_CHANNEL) == []  # all of it private
