"""The Discord adapter (bot/adapters/discord).

* Unit tests of rendering: 2,000-character messages split at sentence boundaries, mass mentions
  defused, ``allowed_mentions`` none on every payload, the citation embed, persistent buttons.
* End to end: readbot opened as ``readbot run`` opens it (``open_app``: bundled model, Chroma and
  SQLite in a tmp dir, the features' command declarations, plus a test feature with /echo, /whisper,
  /slow and ``test:`` buttons) and a ``DiscordAdapter`` built from the kit, running the real discord.py
  client against ``tests/fakes/discord_server``. One bot for the whole module (the model loads
  once); scenarios share it.
* The real CLI: ``python -m bot.cli run --platform discord`` answers a mention; no DISCORD_TOKEN
  exits 2 with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter, DiscordStartError, custom_ids
from bot.adapters.discord import render as dr
from bot.adapters.discord.commands import ASK_ABOUT
from bot.adapters.discord.translate import strip_bot_mention
from bot.app import AdapterKit, App, command_specs, open_app
from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.commands import CommandSpec, OptionSpec
from bot.core.dispatcher import Dispatcher
from bot.core.events import (
    Button,
    ButtonClick,
    Channel,
    Citation,
    Command,
    Event,
    Reply,
    User,
    Visibility,
    Where,
)
from bot.core.feature import Feature, Routes
from bot.core.text import ZWSP
from bot.errors import ConfigError
from bot.settings import Settings
from tests.fakes.discord_server import CREATE_PUBLIC_THREADS, EPHEMERAL, FakeDiscord, RecordedCall

TOKEN = "MTIz.fake.token"
VIBE = "What does Ilya say about vibe coding?"
VIBE_SECTION = "The disconnect between model capability and real-world performance"
RAW_MASS = re.compile(r"@(everyone|here)", re.IGNORECASE)
ANSWER_TIMEOUT = 20.0
aio = pytest.mark.asyncio(loop_scope="module")


# =========================================================================== render (unit)


def sentences(n: int) -> str:
    return " ".join(f"Sentence number {i} talks about scaling, research and generalization." for i in range(n))


def test_long_reply_is_split_into_2000_char_messages_at_sentence_ends() -> None:
    text = sentences(120)  # ~8,400 characters
    rendered = dr.render(Reply(text))
    assert len(rendered.chunks) >= 5
    assert all(len(c) <= dr.MAX_CONTENT for c in rendered.chunks)
    assert all(c.endswith("generalization.") for c in rendered.chunks)  # never mid-sentence
    assert " ".join(rendered.chunks) == text


def test_mass_mentions_and_pings_are_defused() -> None:
    rendered = dr.render(Reply("Hey @everyone, @here and @Everyones: ask <@123456789> or <@&987654321>."))
    (content,) = rendered.chunks
    assert not RAW_MASS.search(content) and "<@" not in content
    assert f"@{ZWSP}everyone" in content and f"@{ZWSP}here" in content
    assert "123456789" in content  # the text stays readable, it just can't ping


def test_every_payload_disallows_all_mentions() -> None:
    rendered = dr.render(
        Reply(
            sentences(60), citations=(Citation("S", "doc", "doc", "q"),), buttons=(Button("Yes", "poll:vote", "p:0"),)
        )
    )
    assert len(rendered.chunks) > 1
    for index in range(len(rendered.chunks)):
        assert rendered.message_kwargs(index)["allowed_mentions"].to_dict() == {"parse": []}
    edit = rendered.edit_kwargs()  # an edit is one message: cut at a sentence, marked with "…"
    assert edit["allowed_mentions"].to_dict() == {"parse": []}
    assert len(edit["content"]) <= dr.MAX_CONTENT and edit["content"].endswith("generalization.…")
    last = rendered.message_kwargs(len(rendered.chunks) - 1)  # embed and buttons go on the last one
    assert last["embeds"] and last["view"] is not None
    assert "embeds" not in rendered.message_kwargs(0) and "view" not in rendered.message_kwargs(0)


def test_citation_goes_into_a_source_embed() -> None:
    quote = "Models do well on evals but fail at vibe coding, fixing one bug and adding another. " * 5
    rendered = dr.render(Reply("Answer.", citations=(Citation(VIBE_SECTION, "ilya-episode", "ilya", quote),)))
    (embed,) = rendered.embeds
    assert embed.title == "Source"
    assert embed.description is not None
    head, quoted = embed.description.split("\n", 1)
    assert head == f"“{VIBE_SECTION}” (ilya-episode)"
    assert quoted.startswith("> Models do well") and quoted.endswith("…")
    assert len(quoted) <= dr.MAX_QUOTE + 2

    huge = Citation("@everyone " * 50, "doc", "doc", "x" * 20_000)
    (embed,) = dr.render(Reply("Answer.", citations=(huge,))).embeds
    assert embed.description is not None and len(embed.description) <= dr.MAX_EMBED_DESCRIPTION
    assert not RAW_MASS.search(embed.description)


def test_buttons_become_a_persistent_view_with_action_value_ids() -> None:
    rendered = dr.render(
        Reply(
            "Vote!",
            buttons=(Button("Yes", "poll:vote", "p1:0", "primary"), Button("No", "poll:vote", "p1:1", "danger")),
        )
    )
    view = rendered.view()
    assert view is not None and view.timeout is None and view.is_persistent()
    components = view.to_components()[0]["components"]
    assert [(c["label"], c["custom_id"], c["style"]) for c in components] == [
        ("Yes", "poll:vote|p1:0", discord.ButtonStyle.primary.value),
        ("No", "poll:vote|p1:1", discord.ButtonStyle.danger.value),
    ]
    assert custom_ids.decode("poll:vote|p1:1|x") == ("poll:vote", "p1:1|x")
    assert custom_ids.decode("no separator") is None
    with pytest.raises(ValueError, match="100"):
        custom_ids.encode("poll:vote", "v" * 100)
    with pytest.raises(ValueError):
        custom_ids.encode("bad|action", "v")


def test_thread_names_and_empty_replies() -> None:
    name = dr.thread_name("<@1234567> @everyone " + "why does generalization matter so much " * 10)
    assert len(name) <= dr.MAX_THREAD_NAME and name.endswith("…")
    assert not RAW_MASS.search(name) and "<@" not in name and "1234567" not in name
    assert dr.thread_name("<@1234567>") == "Question"
    with pytest.raises(ValueError, match="nothing to post"):
        dr.render(Reply("  "))
    assert strip_bot_mention("<@42> what is <@!42> this <@&7>?", 42, {7}) == "what is this ?"


# =========================================================================== end to end: fixture


@dataclass
class World:
    fake: FakeDiscord
    app: App
    adapter: DiscordAdapter
    seen: list[Event] = field(default_factory=list)
    impersonated: set[str] = field(default_factory=set)  # ids of messages a test posted *as* the bot
    release: asyncio.Event = field(default_factory=asyncio.Event)  # lets the /slow command finish


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_messages(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.messages_in(channel_id) if m["author"]["id"] == str(fake.bot_user_id)]


def path_is(method: str, pattern: str) -> Callable[[RecordedCall], bool]:
    return lambda c: c.method == method and re.fullmatch(pattern, c.path) is not None


def everything_said(message: dict[str, Any]) -> str:
    return " ".join([message["content"], *(e.get("description") or "" for e in message["embeds"])])


def text_command(name: str) -> CommandSpec:
    """A test command taking one optional text (as the other features' commands do)."""
    return CommandSpec(
        name, f"readbot /{name}", options=(OptionSpec("text", "Text for the command (optional)"),), free_text="text"
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    fake = FakeDiscord(TOKEN)
    fake.no_threads_id = fake.add_text_channel(
        "no-threads",
        overwrites=[  # type: ignore[attr-defined]
            {"id": str(fake.bot_role_id), "type": 0, "allow": "0", "deny": str(CREATE_PUBLIC_THREADS)}
        ],
    )
    await fake.start()
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(tmp_path_factory.mktemp("discord-data")),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
        },
        dotenv=None,
    )
    seen: list[Event] = []
    release = asyncio.Event()
    adapters: list[DiscordAdapter] = []

    async def echo(event: Event, responder: Responder) -> None:  # a command without a handler of its own
        seen.append(event)
        assert isinstance(event, Command)
        await responder.reply(Reply(f"echo: {event.text}"))

    async def whisper(event: Event, responder: Responder) -> None:
        seen.append(event)
        await responder.reply(Reply("psst", visibility=Visibility.PRIVATE))

    async def vote(event: Event, responder: Responder) -> None:
        seen.append(event)
        assert isinstance(event, ButtonClick) and event.message is not None
        await responder.reply(Reply("Thanks for voting.", visibility=Visibility.PRIVATE))
        await adapters[0].update(event.message, Reply(f"Votes: {event.value}"))

    async def slow(event: Event, responder: Responder) -> None:  # never acknowledges by itself
        seen.append(event)
        await asyncio.wait_for(release.wait(), ANSWER_TIMEOUT)
        await responder.reply(Reply("done, slowly"))

    async def not_mine(event: Event, responder: Responder) -> None:
        return None  # the restart scenario's bots share the fake's gateway: this bot leaves their clicks alone

    tests = Feature(
        "tests",
        commands=((text_command("echo"), echo), (text_command("whisper"), whisper), (text_command("slow"), slow)),
        buttons={"test": vote, "restart": not_mine},
    )

    def discord_adapter(kit: AdapterKit) -> DiscordAdapter:
        adapter = DiscordAdapter(
            kit.settings, kit.dispatcher, commands=kit.commands, state=kit.state, guild_ready_timeout=0.1
        )
        adapters.append(adapter)
        return adapter

    try:
        # the knowledge service is this bot's own (the reading indexed and warmed before the adapter
        # starts), closed with everything else when the block is left
        async with open_app(settings, adapters=[discord_adapter], extra_features=[tests], run_tasks=False) as app:
            assert list(app.adapters) == adapters
            yield World(fake, app, adapters[0], seen=seen, release=release)
    finally:
        await fake.stop()
    assert discord.http.Route.BASE == "https://discord.com/api/v10"  # stop() put discord.py back


# =========================================================================== end to end: scenarios


@aio
async def test_commands_are_registered_on_start(world: World) -> None:
    fake = world.fake
    put = await fake.wait_for_call(path_is("PUT", f"/applications/{fake.application_id}/commands"))
    assert put.status == 200
    commands = {c["name"]: c for c in put.json}
    declared = {spec.name for spec in command_specs()}  # every command the features declare
    assert {"ask", "poll", "prompt"} <= declared
    assert set(commands) == declared | {"echo", "slow", "whisper", ASK_ABOUT}  # the tests' own, the context menu
    assert commands[ASK_ABOUT]["type"] == 3  # a message command
    question, private = commands["ask"]["options"]
    assert (question["name"], question["type"], question["required"]) == ("question", 3, True)
    assert (private["name"], private.get("required", False)) == ("private", False)  # issue 17: private answers
    (text,) = commands["echo"]["options"]
    assert (text["name"], text["type"], text.get("required", False)) == ("text", 3, False)
    assert fake.identify_payloads[0]["intents"] & (1 << 15) == 0  # no message-content intent asked for


@aio
async def test_mention_is_answered_in_a_thread_started_from_it_with_a_citation(world: World) -> None:
    fake = world.fake
    question = await fake.send_message(fake.general_id, VIBE, mentions_bot=True)
    thread_call = await fake.wait_for_call(
        path_is("POST", f"/channels/{fake.general_id}/messages/{question['id']}/threads")
    )
    assert thread_call.status == 200 and thread_call.json["name"] == VIBE
    thread_id = int(question["id"])  # a thread started from a message has the message's id
    answer = await fake.wait_for_message(
        thread_id, lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=ANSWER_TIMEOUT
    )
    assert VIBE_SECTION in everything_said(answer)
    assert answer["embeds"][0]["title"] == "Source"
    assert answer["mentions"] == [] and not answer["mention_everyone"]
    assert bot_messages(fake, fake.general_id) == []  # nothing posted in the channel itself


@aio
async def test_mention_inside_a_thread_is_answered_in_that_thread(world: World) -> None:
    fake = world.fake
    thread = await fake.create_thread(fake.help_id, "Reading club", owner=fake.member_id)
    thread_id = int(thread["id"])
    question = await fake.send_message(thread_id, "What does Ilya mean by the age of research?", mentions_bot=True)
    answer = await fake.wait_for_message(
        thread_id, lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=ANSWER_TIMEOUT
    )
    assert answer["message_reference"]["message_id"] == question["id"]  # a reply to the question
    assert answer["mentions"] == []  # ... that doesn't ping the asker
    assert not [c for c in fake.calls if c.path.endswith(f"/messages/{question['id']}/threads")]
    assert bot_messages(fake, fake.help_id) == []


@aio
async def test_mention_where_threads_are_forbidden_is_answered_in_the_channel(world: World) -> None:
    fake = world.fake
    channel = fake.no_threads_id  # type: ignore[attr-defined]
    question = await fake.send_message(channel, VIBE, mentions_bot=True)
    refused = await fake.wait_for_call(path_is("POST", f"/channels/{channel}/messages/{question['id']}/threads"))
    assert refused.status == 403
    answer = await fake.wait_for_message(
        channel, lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=ANSWER_TIMEOUT
    )
    assert answer["message_reference"]["message_id"] == question["id"] and answer["mentions"] == []
    assert VIBE_SECTION in everything_said(answer)


@aio
async def test_slash_ask_is_deferred_then_answered_by_a_follow_up(world: World) -> None:
    fake = world.fake
    ref = await fake.send_slash_command("ask", {"question": VIBE}, user=fake.moderator_id)
    callback = await fake.wait_for_interaction_response(ref)
    assert callback.status in (200, 204)
    assert callback.json == {"type": 5}  # deferred: "readbot is thinking…"
    followup = await fake.wait_for_call(
        path_is("POST", f"/webhooks/{fake.application_id}/{ref.token}"), timeout=ANSWER_TIMEOUT
    )
    assert followup.status == 200
    assert VIBE_SECTION in everything_said(followup.response)
    assert int(followup.response["id"]) == ref.original_id  # it replaced the thinking message
    assert not followup.response["flags"] & EPHEMERAL


@aio
async def test_empty_ask_gets_an_ephemeral_message(world: World) -> None:
    fake = world.fake
    ref = await fake.send_slash_command("ask", {"question": ""})
    callback = await fake.wait_for_interaction_response(ref)
    # the bad question is refused at once, privately: no public "thinking…" message first
    assert callback.json["type"] == 4
    assert callback.json["data"]["flags"] == EPHEMERAL
    assert "ask a question" in callback.json["data"]["content"].lower()


@aio
async def test_question_with_everyone_pings_nobody(world: World) -> None:
    fake = world.fake
    question = await fake.send_message(fake.general_id, f"@everyone @here {VIBE}", mentions_bot=True)
    thread_call = await fake.wait_for_call(
        path_is("POST", f"/channels/{fake.general_id}/messages/{question['id']}/threads")
    )
    assert not RAW_MASS.search(thread_call.json["name"])
    answer = await fake.wait_for_message(
        int(question["id"]), lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=ANSWER_TIMEOUT
    )
    assert not answer["mention_everyone"] and answer["mentions"] == []

    where = Where(Channel("discord", str(fake.general_id)))
    ref = await world.adapter.send(where, Reply(f"Heads up @everyone and @here: <@{fake.member_id}> asked."))
    posted = fake.messages[int(ref.message_id)]
    assert not RAW_MASS.search(posted["content"]) and f"<@{fake.member_id}>" not in posted["content"]
    assert not posted["mention_everyone"] and posted["mentions"] == []


@aio
async def test_send_splits_long_text_attaches_images_and_starts_threads(world: World) -> None:
    fake = world.fake
    where = Where(Channel("discord", str(fake.help_id)))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    ref = await world.adapter.send(
        where,
        Reply(
            sentences(70),
            citations=(Citation(VIBE_SECTION, "doc", "doc", "quote"),),
            image=png,
            image_name="results.png",
            start_thread=True,
            thread_title="Day 1 @everyone: what stuck?",
        ),
    )
    posted = [m for m in bot_messages(fake, fake.help_id) if "Sentence number" in m["content"]]
    assert len(posted) == 3 and all(len(m["content"]) <= 2000 for m in posted)
    assert [bool(m["embeds"]) for m in posted] == [False, False, True]  # extras on the last one
    assert posted[-1]["id"] == ref.message_id
    assert [a["filename"] for a in posted[-1]["attachments"]] == ["results.png"]
    thread_call = await fake.wait_for_call(
        path_is("POST", f"/channels/{fake.help_id}/messages/{posted[0]['id']}/threads")
    )
    assert thread_call.json["name"] == f"Day 1 @{ZWSP}everyone: what stuck?"


@aio
async def test_own_messages_other_bots_and_unmentioned_messages_are_ignored(world: World) -> None:
    fake = world.fake
    start = len(fake.calls)
    ignored = [
        await fake.send_message(fake.general_id, VIBE, author=fake.bot_user_id, mentions_bot=True),
        await fake.send_message(fake.general_id, VIBE, author=fake.other_bot_id, mentions_bot=True),
        await fake.send_message(fake.general_id, VIBE),
    ]
    world.impersonated.add(ignored[0]["id"])
    # a barrier: events are handled in order, so once this one is answered the others were seen
    barrier = await fake.send_message(fake.general_id, "What is the age of research?", mentions_bot=True)
    await fake.wait_for_message(
        int(barrier["id"]), lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=ANSWER_TIMEOUT
    )
    touched = " ".join(f"{c.path} {c.json}" for c in fake.calls[start:])
    assert all(m["id"] not in touched for m in ignored), touched  # no thread, reply or reference


@aio
async def test_other_commands_are_registered_generically(world: World) -> None:
    fake = world.fake
    ref = await fake.send_slash_command("echo", {"text": "hello @everyone"}, user=fake.moderator_id)
    callback = await fake.wait_for_interaction_response(ref)
    assert callback.json["type"] == 4
    assert callback.json["data"]["content"] == f"echo: hello @{ZWSP}everyone"
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}
    event = world.seen[-1]
    assert isinstance(event, Command) and event.name == "echo"
    assert event.options == {"text": "hello @everyone"} and event.text == "hello @everyone"
    assert event.event_id == str(ref.id) and event.where == Where(Channel("discord", str(fake.general_id), "general"))
    assert event.user == User(str(fake.moderator_id), "Mod", is_bot=False, is_admin=True)

    thread = await fake.create_thread(fake.general_id, "Side discussion", owner=fake.member_id)
    in_thread = await fake.send_slash_command("echo", {"text": "hi"}, channel_id=int(thread["id"]))
    await fake.wait_for_interaction_response(in_thread)
    last = world.seen[-1]
    assert isinstance(last, Command) and last.user.id == str(fake.member_id) and not last.user.is_admin
    assert (last.where.channel.id, last.where.thread_id) == (str(fake.general_id), thread["id"])


@aio
async def test_the_adapter_defers_by_itself_when_a_handler_is_slow(world: World) -> None:
    fake = world.fake
    world.adapter.ACK_AFTER = 0.1  # instead of 2 s
    try:
        ref = await fake.send_slash_command("slow")
        callback = await fake.wait_for_interaction_response(ref)
        assert callback.json == {"type": 5}
        world.release.set()
        followup = await fake.wait_for_call(path_is("POST", f"/webhooks/{fake.application_id}/{ref.token}"))
        assert followup.json["content"] == "done, slowly" and int(followup.response["id"]) == ref.original_id
    finally:
        del world.adapter.ACK_AFTER


@aio
async def test_a_bare_mention_gets_a_hint_in_the_channel_and_no_thread(world: World) -> None:
    fake = world.fake
    question = await fake.send_message(fake.help_id, "", mentions_bot=True)
    hint = await fake.wait_for_message(
        fake.help_id, lambda m: m.get("message_reference", {}).get("message_id") == question["id"]
    )
    assert "ask a question" in hint["content"].lower() and hint["mentions"] == []
    assert not [c for c in fake.calls if c.path.endswith(f"/messages/{question['id']}/threads")]


@aio
async def test_start_fails_with_one_clear_error(world: World) -> None:
    fake, settings = world.fake, world.adapter.settings
    wrong = replace(settings, discord_token="MTIz.wrong.token")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN was rejected"):
        await DiscordAdapter(wrong, Dispatcher(), start_timeout=5).start()
    closed = replace(settings, discord_api_url=f"http://127.0.0.1:{free_port()}/api/v10")
    with pytest.raises(DiscordStartError, match="could not reach Discord"):
        await DiscordAdapter(closed, Dispatcher(), start_timeout=5).start()
    no_gateway = replace(settings, discord_gateway_url=f"ws://127.0.0.1:{free_port()}/gateway")
    with pytest.raises(DiscordStartError, match=r"could not connect to the Discord gateway at ws://"):
        await DiscordAdapter(no_gateway, Dispatcher(), start_timeout=0.5).start()
    api, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    assert (api, str(gateway)) == (fake.api_url, fake.gateway_url)  # each failed start put them back


@aio
async def test_unknown_command_gets_a_private_answer(world: World) -> None:
    fake = world.fake
    ref = await fake.send_slash_command("nope", {"text": "x"})
    callback = await fake.wait_for_interaction_response(ref)
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == EPHEMERAL
    assert "/nope" in callback.json["data"]["content"]


@aio
async def test_a_private_reply_is_ephemeral_in_an_interaction_and_refused_outside(world: World) -> None:
    fake = world.fake
    ref = await fake.send_slash_command("whisper")
    callback = await fake.wait_for_interaction_response(ref)
    assert callback.json["data"]["content"] == "psst" and callback.json["data"]["flags"] == EPHEMERAL
    where = Where(Channel("discord", str(fake.general_id)))
    # outside an interaction there is no way to be private on Discord: no send_private to fall back
    # on, and send() refuses loudly instead of posting the private text for everyone
    assert not hasattr(world.adapter, "send_private")
    before = len(fake.calls)
    with pytest.raises(UnsupportedOperation, match="private reply outside an interaction"):
        await world.adapter.send(where, Reply("secret", visibility=Visibility.PRIVATE))
    assert not [c for c in fake.calls[before:] if c.method == "POST"], fake.calls[before:]


@aio
async def test_button_click_is_dispatched_and_the_message_updated(world: World) -> None:
    fake = world.fake
    where = Where(Channel("discord", str(fake.general_id)))
    ref = await world.adapter.send(
        where,
        Reply(
            "Which part was best?", buttons=(Button("Start", "test:vote", "p1:0"), Button("End", "test:vote", "p1:1"))
        ),
    )
    posted = fake.messages[int(ref.message_id)]
    assert [b["custom_id"] for b in posted["components"][0]["components"]] == ["test:vote|p1:0", "test:vote|p1:1"]
    click = await fake.click_button(int(ref.message_id), "test:vote|p1:1", user=fake.member_id)
    callback = await fake.wait_for_interaction_response(click)
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == EPHEMERAL
    edit = await fake.wait_for_call(path_is("PATCH", f"/channels/{fake.general_id}/messages/{ref.message_id}"))
    assert edit.json["content"] == "Votes: p1:1" and edit.json["components"] == []
    assert edit.json["allowed_mentions"] == {"parse": []}
    event = world.seen[-1]
    assert isinstance(event, ButtonClick)
    assert (event.action, event.value) == ("test:vote", "p1:1") and event.message is not None
    assert event.message.message_id == ref.message_id
    assert event.message.where.channel.id == ref.where.channel.id and event.message.where.thread_id is None


@aio
async def test_buttons_still_work_after_a_restart(world: World) -> None:
    """A bot that posted buttons stops; a new one (nothing in memory) routes a click on them."""
    fake, clicks = world.fake, []
    settings = world.adapter.settings

    async def restart_handler(event: Event, responder: Responder) -> None:
        clicks.append(event)
        await responder.reply(Reply("still here", visibility=Visibility.PRIVATE))

    # the module's bot shares the fake's gateway: it routes "restart:" clicks to a handler that leaves
    # them alone (see the world fixture)
    assert "restart" in world.app.dispatcher.routes.buttons
    first = DiscordAdapter(settings, Dispatcher(), guild_ready_timeout=0.1)
    await first.start()
    try:
        ref = await first.send(
            Where(Channel("discord", str(fake.help_id))),
            Reply("Old poll", buttons=(Button("Vote", "restart:vote", "old:1"),)),
        )
        assert await first.connected() and await world.adapter.connected()
    finally:
        await first.stop()
    assert not await first.connected()
    second = DiscordAdapter(settings, Dispatcher(Routes(buttons={"restart": restart_handler})), guild_ready_timeout=0.1)
    await second.start()
    try:
        click = await fake.click_button(int(ref.message_id), "restart:vote|old:1")
        callback = await fake.wait_for_interaction_response(click)
        assert callback.json["data"]["content"] == "still here"
        assert [(e.action, e.value) for e in clicks if isinstance(e, ButtonClick)] == [("restart:vote", "old:1")]
    finally:
        await second.stop()
    # the module's bot saw the click too, had no handler for it and stayed silent (one response only)
    responses = [c for c in fake.calls if c.path == click.callback_path]
    assert len(responses) == 1


@aio
async def test_every_payload_pings_nobody(world: World) -> None:
    fake = world.fake
    question = await fake.send_message(fake.general_id, f"@here {VIBE}", mentions_bot=True)
    await fake.wait_for_message(
        int(question["id"]), lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=ANSWER_TIMEOUT
    )
    payload_paths = re.compile(
        r"/channels/\d+/messages(/\d+)?|/webhooks/\d+/[^/]+(/messages/[^/]+)?"
        r"|/interactions/\d+/[^/]+/callback"
    )
    checked = 0
    for call in fake.calls:
        if call.method not in ("POST", "PATCH") or not payload_paths.fullmatch(call.path):
            continue
        body = call.json or {}
        if call.path.endswith("/callback"):
            body = body.get("data") or {}
            if not body:
                continue  # a deferral carries no message
        checked += 1
        allowed = body.get("allowed_mentions")  # a reply adds "replied_user": false
        assert allowed in ({"parse": []}, {"parse": [], "replied_user": False}), (call.path, body)
        said = " ".join([body.get("content") or "", *(e.get("description") or "" for e in body.get("embeds", []))])
        assert not RAW_MASS.search(said), (call.path, said)
    for call in fake.calls:
        if call.path.endswith("/threads"):
            assert not RAW_MASS.search(call.json["name"])
    assert checked >= 1
    for message in fake.messages.values():
        if message["author"]["id"] == str(fake.bot_user_id) and message["id"] not in world.impersonated:
            assert message["mentions"] == [] and message["mention_roles"] == []
            assert not message["mention_everyone"]


def test_the_adapter_does_not_import_the_knowledge_core(cli_env: dict[str, str]) -> None:
    code = "import sys, bot.adapters.discord; print(sorted(m for m in sys.modules if m.startswith('bot.knowledge')))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


# =========================================================================== the real CLI


def cli_command() -> list[str]:
    return [sys.executable, "-m", "bot.cli", "run", "--platform", "discord"]


def test_python_m_bot_cli_lists_the_run_command(cli_env: dict[str, str], tmp_path: Path) -> None:
    """``python -m bot.cli`` is the CLI (without bot/cli.py's ``__main__`` guard it would run nothing
    and exit 0, silently), and it has ``run --platform discord``."""
    usage = subprocess.run(
        [*cli_command()[:3], "--help"],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert usage.returncode == 0 and usage.stdout.strip(), (usage.returncode, usage.stdout, usage.stderr)
    commands = re.search(r"\{([a-z,]+)\}", usage.stdout)
    assert commands is not None and "run" in commands.group(1).split(","), usage.stdout
    run_usage = subprocess.run(
        [*cli_command()[:4], "--help"],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run_usage.returncode == 0, run_usage.stderr
    assert "--platform" in run_usage.stdout and "discord" in run_usage.stdout, run_usage.stdout


@aio
async def test_cli_run_answers_a_mention(cli_env: dict[str, str], tmp_path: Path) -> None:
    fake = FakeDiscord(TOKEN)  # a fake of its own: the module's bot must not see this traffic
    await fake.start()
    port = free_port()  # /healthz, /readyz, /metrics: on a free port, never a fixed one
    env = {
        **cli_env,
        "READBOT_DATA_DIR": str(tmp_path / "data"),
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "READBOT_HTTP_PORT": str(port),
    }
    pipe = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(*cli_command(), env=env, cwd=tmp_path, stdout=pipe, stderr=pipe)
    output = b""
    try:
        ready = asyncio.ensure_future(
            fake.wait_for_call(path_is("PUT", f"/applications/{fake.application_id}/commands"), timeout=60)
        )
        exited = asyncio.ensure_future(proc.wait())
        await asyncio.wait({ready, exited}, return_when=asyncio.FIRST_COMPLETED)
        if exited.done():
            ready.cancel()
            _, err = await proc.communicate()
            raise AssertionError(
                f"readbot run exited with {proc.returncode} before connecting: {err.decode(errors='replace')[-2000:]}"
            )
        await ready
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert (resp.status, await resp.text()) == (200, "ok")  # the port it was given
        question = await fake.send_message(fake.general_id, VIBE, mentions_bot=True)
        answer = await fake.wait_for_message(
            int(question["id"]), lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=60
        )
        assert VIBE_SECTION in everything_said(answer)
        assert answer["mentions"] == [] and not answer["mention_everyone"]
    finally:
        if proc.returncode is None:
            proc.terminate()
        with contextlib.suppress(TimeoutError):
            _, output = await asyncio.wait_for(proc.communicate(), 15)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await fake.stop()
    assert b"Traceback" not in output, output.decode(errors="replace")


def test_cli_run_without_a_token_exits_2_with_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_HTTP_PORT": str(free_port())}
    env.pop("DISCORD_TOKEN", None)
    done = subprocess.run(cli_command(), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@aio
async def test_sharded_client_connects_and_routes_events(world: World) -> None:
    """DISCORD_SHARDS=auto runs discord.py's AutoShardedClient (asks /gateway/bot, sends shard ids)."""
    fake = world.fake
    seen: list[Event] = []

    async def record(event: Event, responder: Responder) -> None:
        seen.append(event)
        await responder.reply(Reply("sharded ok"))

    shardcheck = text_command("shardcheck")
    dispatcher = Dispatcher(Routes(commands={"shardcheck": record}, specs=(shardcheck,)))
    sharded = DiscordAdapter(
        replace(world.adapter.settings, discord_shards="auto"),
        dispatcher,
        commands=(shardcheck,),
        guild_ready_timeout=0.1,
        start_timeout=15,
    )
    await sharded.start()
    try:
        assert isinstance(sharded._client, discord.AutoShardedClient)
        assert any(c.path.endswith("/gateway/bot") for c in fake.calls)
        assert any(p.get("shard") for p in fake.identify_payloads)
    finally:
        await sharded.stop()
