"""Discord end to end through the real discord.py client against ``tests/fakes/discord_server``, with
the Message Content intent on (DISCORD_MESSAGE_CONTENT=true): a follow-up in readbot's own thread
answered without a mention and members' chat left alone, /recap of a thread the test writes (and
outside a thread: one private line), the "Ask readbot about this" message command, and /ask's
autocomplete from the reading's section titles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.adapters.discord.commands import ASK_ABOUT
from bot.app import AdapterKit, App, open_app
from bot.recap.handler import NOT_IN_THREAD
from bot.settings import Settings
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, RecordedCall

TOKEN = "MTIz.fake.token"
VIBE = "What does Ilya say about vibe coding?"
VIBE_SECTION = "The disconnect between model capability and real-world performance"
TIMEOUT = 30.0
MESSAGE_CONTENT = 1 << 15
aio = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    fake: FakeDiscord
    app: App
    adapter: DiscordAdapter


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(knowledge_service: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    env = {
        "READBOT_DATA_DIR": str(tmp_path_factory.mktemp("discord-idioms")),
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_MESSAGE_CONTENT": "true",
    }
    settings = Settings.from_env(env, dotenv=None)

    def discord_adapter(kit: AdapterKit) -> DiscordAdapter:
        return DiscordAdapter(
            kit.settings,
            kit.dispatcher,
            commands=kit.commands,
            state=kit.state,
            guild_ready_timeout=0.1,
            message_content=kit.settings.discord_message_content,
        )

    try:
        async with open_app(settings, adapters=[discord_adapter], knowledge=knowledge_service, run_tasks=False) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, DiscordAdapter)
            yield World(fake, app, adapter)
    finally:
        await fake.stop()


def from_bot(fake: FakeDiscord) -> Any:
    return lambda m: m["author"]["id"] == str(fake.bot_user_id)


def said(message: dict[str, Any]) -> str:
    return " ".join([message["content"], *(e.get("description") or "" for e in message["embeds"])])


async def settled(world: World) -> None:
    await asyncio.sleep(0.5)
    await world.adapter._inflight.idle()


@aio
async def test_the_message_content_intent_is_asked_for(world: World) -> None:
    assert world.fake.identify_payloads[0]["intents"] & MESSAGE_CONTENT


@aio
async def test_follow_up_in_readbots_thread_without_a_mention_and_chat_left_alone(world: World) -> None:
    fake = world.fake
    question = await fake.send_message(fake.general_id, VIBE, mentions_bot=True)
    thread_id = int(question["id"])  # the thread readbot starts from the question
    await fake.wait_for_message(thread_id, from_bot(fake), timeout=TIMEOUT)
    await fake.send_message(thread_id, "haha the bug fixing loop is so relatable")
    await fake.send_message(thread_id, "Same here, it was great.")
    await settled(world)
    assert len([m for m in fake.messages_in(thread_id) if from_bot(fake)(m)]) == 1
    await fake.send_message(thread_id, "what are the two possible explanations for it")
    for _ in range(int(TIMEOUT / 0.1)):
        answers = [m for m in fake.messages_in(thread_id) if from_bot(fake)(m)]
        if len(answers) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(answers) == 2 and "explanation" in said(answers[1]).lower()

    # a thread members opened: readbot didn't start it, so their questions there are theirs
    thread = await fake.create_thread(fake.help_id, "members only", owner=fake.member_id)
    await fake.send_message(int(thread["id"]), "why does he think models generalize worse?")
    await settled(world)
    assert [m for m in fake.messages_in(int(thread["id"])) if from_bot(fake)(m)] == []


@aio
async def test_recap_in_a_thread_and_outside_one(world: World) -> None:
    fake = world.fake
    question = await fake.send_message(
        fake.general_id, "Why do models generalize worse than people?", mentions_bot=True
    )
    thread_id = int(question["id"])
    await fake.wait_for_message(thread_id, from_bot(fake), timeout=TIMEOUT)
    for text in (
        "I think the core problem is generalization, models need far more data than humans.",
        "Right, a teenager learns to drive in ten hours while models need millions of examples.",
        "The emotions part surprised me, emotions act like a value function guiding decisions.",
        "Does anyone know when SSI plans to release anything",
    ):
        await fake.send_message(thread_id, text, author=fake.moderator_id)
    for _ in range(int(TIMEOUT / 0.1)):  # readbot answers the last one: a question in its thread
        if len([m for m in fake.messages_in(thread_id) if from_bot(fake)(m)]) == 2:
            break
        await asyncio.sleep(0.1)
    await fake.send_message(  # to a member: readbot leaves it to them, and nobody answers
        thread_id, f"<@{fake.moderator_id}> what did you think of the SSI part", author=fake.member_id
    )
    await settled(world)
    ref = await fake.send_slash_command("recap", {}, channel_id=thread_id)
    followup: RecordedCall = await fake.wait_for_call(
        lambda c: c.method == "POST" and c.path == f"/webhooks/{fake.application_id}/{ref.token}", timeout=TIMEOUT
    )
    text = said(followup.response)
    assert "Recap of this thread (5 messages" in text
    open_questions = text.split("Open questions", 1)[1].split("Passages the thread touched", 1)[0]
    assert "SSI plans to release" not in open_questions  # readbot answered it in the thread
    assert "what did you think of the SSI part" in open_questions and "@" not in open_questions
    assert followup.response["mentions"] == [] and not followup.response["mention_everyone"]

    outside = await fake.send_slash_command("recap", {}, channel_id=fake.general_id)
    answer = await fake.wait_for_interaction_response(outside)
    assert answer.json["type"] == 4 and answer.json["data"]["content"] == NOT_IN_THREAD
    assert answer.json["data"]["flags"] & EPHEMERAL


@aio
async def test_ask_readbot_about_this_answers_about_the_selected_message(world: World) -> None:
    fake = world.fake
    selected = await fake.send_message(fake.general_id, "Ilya says vibe coding keeps bringing back the same bug")
    ref = await fake.send_message_command(ASK_ABOUT, int(selected["id"]), user=fake.moderator_id)
    followup = await fake.wait_for_call(
        lambda c: c.method == "POST" and c.path == f"/webhooks/{fake.application_id}/{ref.token}", timeout=TIMEOUT
    )
    assert VIBE_SECTION in said(followup.response)


@aio
async def test_ask_autocompletes_from_the_readings_section_titles(world: World) -> None:
    fake = world.fake
    ref = await fake.send_autocomplete("ask", {"question": "generaliz"}, "question")
    answer = await fake.wait_for_interaction_response(ref)
    assert answer.json["type"] == 8
    choices = answer.json["data"]["choices"]
    assert choices[0] == {"name": "generaliz", "value": "generaliz"}  # what was typed stays first
    assert any(c["name"] == "Generalization as the core challenge" for c in choices)
    assert all(len(c["value"]) <= 100 for c in choices)
