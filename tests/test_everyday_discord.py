"""The everyday basics on Discord, end to end: the real discord.py client against
``tests/fakes/discord_server``, readbot opened as ``readbot run`` opens it. ``/help`` is an application
command built from the declarations like every other; an unknown (stale) command answers with the
list; ``/poll action:cancel`` ends a poll with no results; close times are in the channel's zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.app import App, command_specs
from bot.clock import ManualClock
from bot.settings import Settings
from tests.fakes.assertions import assert_pings_nobody
from tests.fakes.discord_server import FakeDiscord
from tests.test_discord_polls import (
    START,
    TOKEN,
    WAIT,
    buttons,
    edits_of,
    open_readbot,
    posted_poll,
    private_answer,
    public_bot_messages,
    start_poll,
)

aio = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    fake: FakeDiscord
    app: App
    berlin: int


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, knowledge_service: Any) -> AsyncIterator[World]:
    fake = FakeDiscord(TOKEN)
    berlin = fake.add_text_channel("lesekreis")
    await fake.start()
    folder: Path = tmp_path_factory.mktemp("discord-everyday")
    config = folder / "readbot.toml"
    config.write_text(
        f'[[schedule]]\nplatform = "discord"\nchannel = "{berlin}"\ncron = "0 9 * * *"\ntimezone = "Europe/Berlin"\n',
        encoding="utf-8",
    )
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(folder / "data"),
            "READBOT_CONFIG": str(config),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
        },
        dotenv=None,
    )
    try:
        async with open_readbot(settings, knowledge_service, ManualClock(START)) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, DiscordAdapter)
            yield World(fake, app, berlin)
    finally:
        await fake.stop()


FOR_MEMBERS = ["/ask", "/prompt", "/reading", "/recap", "/help"]  # what /help lists for a member


def commands_in(text: str) -> list[str]:
    return [line.split()[1] for line in text.splitlines() if line.startswith("• /")]


@aio
async def test_help_is_an_app_command_listing_what_each_person_may_use(world: World) -> None:
    fake = world.fake
    synced = {c["name"]: c for cmds in fake.commands.values() for c in cmds}
    assert "help" in synced and set(synced) == {s.name for s in command_specs()} | {"Ask readbot about this"}
    assert [o["name"] for o in synced["help"].get("options", [])] == ["command"]
    posts_before = public_bot_messages(fake, fake.general_id)

    member = (await private_answer(fake, await fake.send_slash_command("help", {}, user=fake.member_id)))["content"]
    assert commands_in(member) == FOR_MEMBERS and "Moderators have more commands" in member
    moderator = (await private_answer(fake, await fake.send_slash_command("help", {}, user=fake.moderator_id)))[
        "content"
    ]  # Manage Messages in the channel: a moderator
    assert commands_in(moderator) == ["/ask", "/insights", "/poll", "/prompt", "/reading", "/recap", "/help"]
    prompt_usage = "suggest <question> | now | skip | pause | resume | list | add [next] <question> | schedule"
    assert f"• /prompt {prompt_usage}" in moderator

    one = await private_answer(fake, await fake.send_slash_command("help", {"command": "poll"}, user=fake.moderator_id))
    assert one["content"].startswith("/poll [claim | option | option]") and "  action: " in one["content"]
    extra = await private_answer(
        fake, await fake.send_slash_command("help", {"command": "extra words"}, user=fake.member_id)
    )
    assert "\n" not in extra["content"] and extra["content"].startswith("Help takes at most one command's name")
    assert public_bot_messages(fake, fake.general_id) == posts_before  # all of it private
    assert_pings_nobody(fake)


@aio
async def test_a_stale_unknown_command_answers_with_the_list(world: World) -> None:
    fake = world.fake
    answer = await private_answer(fake, await fake.send_slash_command("frobnicate", {}, user=fake.member_id))
    first, _, listing = answer["content"].partition("\n")
    assert first == "I don't know the command /frobnicate." and commands_in(listing) == FOR_MEMBERS


@aio
async def test_a_mention_that_is_only_help_gets_the_list_without_a_thread(world: World) -> None:
    fake = world.fake
    threads_before = [c for c in fake.calls if c.path.endswith("/threads")]
    question = await fake.send_message(fake.general_id, "help", mentions_bot=True, author=fake.member_id)
    reply = await fake.wait_for_message(
        fake.general_id,
        lambda m: (m.get("message_reference") or {}).get("message_id") == str(question["id"]),
        timeout=WAIT,
    )
    assert commands_in(reply["content"]) == FOR_MEMBERS
    assert [c for c in fake.calls if c.path.endswith("/threads")] == threads_before  # no thread for it
    assert_pings_nobody(fake)


@aio
async def test_cancel_by_action_edits_the_card_and_posts_no_results_close_times_in_berlin(world: World) -> None:
    fake, app, channel = world.fake, world.app, world.berlin
    ref = await fake.send_slash_command("poll", {"action": "cancel"}, user=fake.moderator_id, channel_id=channel)
    assert (await private_answer(fake, ref))["content"] == "There is no open poll here to cancel."

    card = await start_poll(fake, {"claim": "A poll started by mistake", "options": "yes | no"}, channel)
    assert "closes 03 Nov 11:00 CET" in card["content"]  # 09:00 UTC + 60 minutes, in Europe/Berlin
    poll = await posted_poll(app, card)
    since = len(fake.calls)

    ref = await fake.send_slash_command("poll", {"action": "cancel"}, user=fake.member_id, channel_id=channel)
    assert (await private_answer(fake, ref))["content"] == "Only moderators can cancel polls."
    assert (await app.polls.service.get(poll.id)).status == "open"  # type: ignore[union-attr]

    posts_before = len(public_bot_messages(fake, channel))
    ref = await fake.send_slash_command(
        "poll", {"action": "cancel", "poll": poll.id}, user=fake.moderator_id, channel_id=channel
    )
    said = (await private_answer(fake, ref))["content"]
    assert said == "Poll cancelled: “A poll started by mistake”. No results are posted."
    await app.polls.live.drain()
    (edit,) = edits_of(fake, channel, card["id"], since)
    edited = fake.messages[int(card["id"])]
    assert "This poll was cancelled by a moderator (03 Nov 10:00 CET)" in edited["content"]
    assert buttons(edited) == []
    assert len(public_bot_messages(fake, channel)) == posts_before  # no results, no chart
    assert (await app.polls.service.get(poll.id)).status == "cancelled"  # type: ignore[union-attr]
    assert edit.status == 200


@aio
async def test_prompt_add_next_and_list_on_discord(world: World) -> None:
    fake, channel = world.fake, world.berlin
    service = world.app.prompts.service
    before = await service.peek("discord", str(channel), 5)
    for text, user, said in [
        (f"add next <@{fake.member_id}> what do you make of the ending?", fake.moderator_id, "can't mention people"),
        ("add next " + "Why does this matter so much? " * 11, fake.moderator_id, "keep it to 280"),
        ("add next Which passage would you reread first, and why?", fake.member_id, "Only moderators"),
    ]:
        ref = await fake.send_slash_command("prompt", {"text": text}, user=user, channel_id=channel)
        answer = (await private_answer(fake, ref))["content"]
        assert said in answer and "\n" not in answer, answer
    assert await service.peek("discord", str(channel), 5) == before

    question = "Which passage would you reread first, and why?"
    ref = await fake.send_slash_command(
        "prompt", {"text": f"add next {question}"}, user=fake.moderator_id, channel_id=channel
    )
    assert "it is the next question posted here, on Wed 4 Nov 09:00 CET" in (await private_answer(fake, ref))["content"]
    ref = await fake.send_slash_command("prompt", {"text": "list"}, user=fake.moderator_id, channel_id=channel)
    lines = (await private_answer(fake, ref))["content"].splitlines()
    assert lines[0] == "The next 5 questions here (/prompt now posts the first):"
    assert lines[1] == f"1. {question} (Wed 4 Nov 09:00 CET) [added by a moderator]"
    assert_pings_nobody(fake)
