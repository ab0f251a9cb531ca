"""Polls on Discord, end to end: readbot opened as ``readbot run`` opens it (``open_app``: SQLite in a
tmp dir, the shipped claims bank, a ManualClock, the features' command declarations) with a
``DiscordAdapter`` running the real discord.py client against ``tests/fakes/discord_server`` in this
process.

* ``/poll`` is a slash command with options of its own (claim with autocomplete from the claims
  bank, options, duration, anonymous, hidden, action), declared by the polls feature
  (``bot.polls.commands``) and read by its handler.
* The card is the slash command's follow-up, with a persistent button per option and a Close button;
  votes are answered privately (ephemeral) and edit the card (PATCH), never post per vote; moderators
  only may start and close; the deadline edits the card to the final tally without buttons and posts
  the results with the chart attached (multipart upload).
* A new app and adapter (nothing in memory, the same database) route a click on an old card.

One bot for the module; each scenario uses its own channel (polls are per channel) or its own
snapshot of the fake's calls.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.app import AdapterKit, App, open_app
from bot.clock import ManualClock
from bot.core.commands import spec_hash
from bot.core.events import Button, Channel, Reply, Where
from bot.polls.model import SCALE, Poll
from bot.settings import Settings
from bot.store.state import BotState
from tests.fakes.assertions import assert_pings_nobody
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, InteractionRef, RecordedCall

TOKEN = "MTIz.fake.token"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
MERGE = "Humans should merge with AI to keep their agency."
BREADTH_ID = "breadth-beats-self-improvement"  # its claim is 110 characters: too long for a choice value
BREADTH = (
    "Copies of an AI learning many different jobs could reach superintelligence without recursive self-improvement."
)
CLOSED = "This poll is closed; votes are no longer counted."
GONE = "This poll no longer exists."
WAIT = 10.0
aio = pytest.mark.asyncio(loop_scope="module")


@dataclass
class World:
    fake: FakeDiscord
    settings: Settings
    knowledge: Any
    app: App
    adapter: DiscordAdapter
    bob: int
    carol: int
    close_channel: int
    restart_channel: int

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.app.clock, ManualClock)
        return self.app.clock


def discord_adapter(kit: AdapterKit) -> DiscordAdapter:
    """As the runner builds it: the features' declarations, the database's state."""
    return DiscordAdapter(kit.settings, kit.dispatcher, commands=kit.commands, state=kit.state, guild_ready_timeout=0.1)


def open_readbot(settings: Settings, knowledge: Any, clock: ManualClock) -> AbstractAsyncContextManager[App]:
    """Like the runner (DB, features, dispatcher, then the adapter started); deadlines are driven by
    hand (``app.polls.close_due()``); the session's knowledge service is left open."""
    return open_app(settings, adapters=[discord_adapter], knowledge=knowledge, clock=clock, run_tasks=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory, knowledge_service: Any) -> AsyncIterator[World]:
    fake = FakeDiscord(TOKEN)
    bob, carol = fake.add_member("bob"), fake.add_member("carol")
    close_channel, restart_channel = fake.add_text_channel("polls-close"), fake.add_text_channel("polls-old")
    await fake.start()
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(tmp_path_factory.mktemp("discord-polls")),
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
            yield World(fake, settings, knowledge_service, app, adapter, bob, carol, close_channel, restart_channel)
    finally:
        await fake.stop()


# =========================================================================== helpers


def path_is(method: str, pattern: str) -> Callable[[RecordedCall], bool]:
    return lambda c: c.method == method and re.fullmatch(pattern, c.path) is not None


def public_bot_messages(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return [
        m
        for m in fake.messages_in(channel_id)
        if m["author"]["id"] == str(fake.bot_user_id) and not m["flags"] & EPHEMERAL
    ]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, custom id) of every button on a message, row by row."""
    return [(b["label"], b["custom_id"]) for row in message["components"] for b in row["components"]]


async def private_answer(fake: FakeDiscord, ref: InteractionRef) -> dict[str, Any]:
    """The ephemeral message answering an interaction: the initial response, or the follow-up after a
    deferral. Fails if it isn't ephemeral."""
    callback = await fake.wait_for_interaction_response(ref, timeout=WAIT)
    assert callback.status in (200, 204), callback.response
    body = callback.json
    if body["type"] == 4:
        data = body["data"]
    else:
        assert body["type"] in (5, 6), body
        followup = await fake.wait_for_call(
            path_is("POST", f"/webhooks/{fake.application_id}/{ref.token}"), timeout=WAIT
        )
        data = followup.json
    assert data["flags"] & EPHEMERAL, data
    assert data["allowed_mentions"] == {"parse": []}
    return data


async def start_poll(fake: FakeDiscord, options: dict[str, Any], channel_id: int) -> dict[str, Any]:
    """A moderator's /poll: deferred, then the card as the follow-up that replaces "thinking…"."""
    ref = await fake.send_slash_command("poll", options, user=fake.moderator_id, channel_id=channel_id)
    callback = await fake.wait_for_interaction_response(ref, timeout=WAIT)
    assert callback.json == {"type": 5}
    followup = await fake.wait_for_call(path_is("POST", f"/webhooks/{fake.application_id}/{ref.token}"), timeout=WAIT)
    assert followup.status == 200, followup.response
    assert int(followup.response["id"]) == ref.original_id  # it replaced the thinking message
    card = fake.messages[int(followup.response["id"])]
    assert not card["flags"] & EPHEMERAL and card["channel_id"] == str(channel_id)
    return card


def poll_id_of(card: dict[str, Any]) -> str:
    label, custom_id = buttons(card)[-1]
    assert label == "Close poll" and custom_id.startswith("poll:close|")
    return custom_id.split("|", 1)[1]


async def posted_poll(app: App, card: dict[str, Any]) -> Poll:
    """The card's poll once the handler has stored the card's message id (just after posting it)."""
    poll_id = poll_id_of(card)
    deadline = asyncio.get_running_loop().time() + WAIT
    while (poll := await app.polls.service.get(poll_id)) is None or poll.message_id is None:
        assert asyncio.get_running_loop().time() < deadline, f"poll {poll_id} was never linked to its card"
        await asyncio.sleep(0.01)
    assert poll.message_id == card["id"]
    return poll


def edits_of(fake: FakeDiscord, channel_id: int, message_id: int | str, since: int) -> list[RecordedCall]:
    return [c for c in fake.calls[since:] if path_is("PATCH", f"/channels/{channel_id}/messages/{message_id}")(c)]


def lines_of(text: str) -> list[str]:
    return text.splitlines()


# =========================================================================== the command


@aio
async def test_poll_is_a_slash_command_with_options_of_its_own(world: World) -> None:
    fake = world.fake
    put = await fake.wait_for_call(path_is("PUT", f"/applications/{fake.application_id}/commands"))
    assert put.status == 200
    commands = {c["name"]: c for c in put.json}
    assert {"ask", "poll"} <= set(commands)
    for name in set(commands) - {
        "ask",
        "poll",
        "reading",
        "help",
        "insights",
        "recap",
        "Ask readbot about this",
    }:  # /prompt: one text
        assert [(o["name"], o["type"]) for o in commands[name]["options"]] == [("text", 3)], name
    assert [(o["name"], o["type"]) for o in commands["help"]["options"]] == [("command", 3)]  # /help [command]
    assert commands["recap"]["options"] == [] and commands["Ask readbot about this"]["type"] == 3
    reading = {o["name"]: o for o in commands["reading"]["options"]}  # /reading: an attachment for add
    assert [(name, o["type"]) for name, o in reading.items()] == [
        ("action", 3),
        ("id", 3),
        ("file", 11),
        ("title", 3),
        ("section", 3),  # /reading progress SECTION
    ]
    assert reading["id"]["autocomplete"] is True and reading["section"]["autocomplete"] is True
    assert [(o["name"], o["type"]) for o in commands["insights"]["options"]] == [("days", 3)]
    question, _private = commands["ask"]["options"]  # /ask with its private option (issue 17)
    assert (question["name"], question["type"], question["required"]) == ("question", 3, True)
    options = {o["name"]: o for o in commands["poll"]["options"]}
    assert list(options) == ["claim", "options", "duration", "anonymous", "hidden", "action", "poll"]
    assert all(o["type"] == 3 and not o.get("required") for o in options.values())
    assert options["claim"]["autocomplete"] is True
    assert not any(o.get("autocomplete") for name, o in options.items() if name != "claim")
    for name in ("anonymous", "hidden"):
        assert [(c["name"], c["value"]) for c in options[name]["choices"]] == [("on", "on"), ("off", "off")]
    assert [c["value"] for c in options["action"]["choices"]] == ["start", "close", "cancel", "drafts"]
    assert all(1 <= len(o["description"]) <= 100 for o in options.values())
    assert len(commands["poll"]["description"]) <= 100


@aio
async def test_claim_autocomplete_offers_claims_from_the_bank(world: World) -> None:
    fake = world.fake
    ref = await fake.send_autocomplete("poll", {"claim": "merge"}, "claim", user=fake.moderator_id)
    callback = await fake.wait_for_interaction_response(ref, timeout=WAIT)
    assert callback.json["type"] == 8
    choices = callback.json["data"]["choices"]
    assert {"name": MERGE, "value": MERGE} in choices

    ref = await fake.send_autocomplete("poll", {"claim": ""}, "claim", user=fake.moderator_id)
    everything = (await fake.wait_for_interaction_response(ref, timeout=WAIT)).json["data"]["choices"]
    assert 20 <= len(everything) <= 25
    assert all(1 <= len(c["name"]) <= 100 and 1 <= len(c["value"]) <= 100 for c in everything)
    long_one = next(c for c in everything if c["name"].startswith("Copies of an AI"))
    assert long_one["value"] == BREADTH_ID and long_one["name"].endswith("…")  # the id: the poll resolves it

    ref = await fake.send_autocomplete("poll", {"claim": "zzz no such claim"}, "claim")
    assert (await fake.wait_for_interaction_response(ref, timeout=WAIT)).json["data"]["choices"] == []


def test_the_adapter_imports_neither_the_poll_feature_nor_the_knowledge_core(cli_env: dict[str, str]) -> None:
    code = (
        "import sys, bot.adapters.discord, bot.adapters.discord.commands; "
        "print(sorted(m for m in sys.modules if m.startswith(('bot.polls', 'bot.knowledge'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


# =========================================================================== refusals


@aio
async def test_a_member_cannot_start_a_poll(world: World) -> None:
    fake, service = world.fake, world.app.polls.service
    polls_before, posts_before = len(await service.all()), public_bot_messages(fake, fake.general_id)
    ref = await fake.send_slash_command("poll", {"claim": MERGE}, user=fake.member_id)
    answer = await private_answer(fake, ref)
    assert answer["content"] == "Only moderators can start polls."
    assert len(await service.all()) == polls_before
    assert public_bot_messages(fake, fake.general_id) == posts_before  # no card; "thinking…" was removed
    assert_pings_nobody(fake)


@aio
async def test_bad_input_is_refused_privately_and_nothing_is_posted(world: World) -> None:
    fake, service = world.fake, world.app.polls.service
    polls_before, posts_before = len(await service.all()), public_bot_messages(fake, fake.general_id)
    for options, said in [
        ({"claim": MERGE, "options": "a | a"}, "Each poll option must be different."),
        ({"claim": MERGE, "duration": "9d"}, "A poll runs from 1 minute to 7 days."),
        ({"claim": MERGE, "duration": "soon"}, "I can't read the duration “soon”"),
        ({"claim": "x" * 301}, "That claim is 301 characters; keep it to 300."),
    ]:
        ref = await fake.send_slash_command("poll", options, user=fake.moderator_id)
        answer = await private_answer(fake, ref)
        assert answer["content"].startswith(said), answer["content"]
    assert len(await service.all()) == polls_before
    assert public_bot_messages(fake, fake.general_id) == posts_before
    assert_pings_nobody(fake)


# =========================================================================== a poll's life


@aio
async def test_a_poll_from_start_through_votes_to_results(world: World) -> None:
    fake, app, general = world.fake, world.app, world.fake.general_id
    service = app.polls.service

    # the moderator starts it: deferred, then the card as the follow-up
    card = await start_poll(fake, {"claim": MERGE}, general)
    poll_id = poll_id_of(card)
    assert buttons(card) == [
        *((label, f"poll:vote|{poll_id}:{i}") for i, label in enumerate(SCALE)),
        ("Close poll", f"poll:close|{poll_id}"),
    ]
    poll = await posted_poll(app, card)
    assert poll.channel_id == str(general)
    assert poll.claim_id == "merge-with-ai" and poll.closes_at - poll.created_at == timedelta(minutes=60)
    assert lines_of(card["content"])[0] == f"Poll: “{MERGE}”"
    assert f"From “{poll.section}”" in card["content"] and "0 voters" in lines_of(card["content"])

    # three members vote, one changes their mind: each is answered privately, the card is edited
    since, posts = len(fake.calls), [m["id"] for m in public_bot_messages(fake, general)]
    alice = fake.member_id
    for user, option, said in [
        (alice, 1, "Thanks, your vote “Agree” is counted."),
        (world.bob, 0, "Thanks, your vote “Strongly agree” is counted."),
        (world.carol, 3, "Thanks, your vote “Disagree” is counted."),
        (world.bob, 1, "Vote changed: you now say “Agree”."),
        (alice, 1, "You already voted “Agree”; it's counted."),
    ]:
        click = await fake.click_button(int(card["id"]), f"poll:vote|{poll_id}:{option}", user=user)
        assert (await private_answer(fake, click))["content"] == said
    await app.polls.live.drain()
    edits = edits_of(fake, general, card["id"], since)
    assert 1 <= len(edits) <= 5  # coalesced: at most one edit per second
    live = lines_of(edits[-1].json["content"])
    assert {
        "Strongly agree: 0 (0%) ░░░░░░░░░░",
        "Agree: 2 (67%) ███████░░░",
        "Unsure: 0 (0%) ░░░░░░░░░░",
        "Disagree: 1 (33%) ███░░░░░░░",
        "3 voters",
    } <= set(live)
    assert buttons(fake.messages[int(card["id"])]) == buttons(card)  # still open, still votable
    assert fake.messages[int(card["id"])]["content"] == edits[-1].json["content"]
    assert [m["id"] for m in public_bot_messages(fake, general)] == posts  # no message per vote
    assert not [c for c in fake.calls[since:] if path_is("POST", rf"/channels/{general}/messages")(c)]

    # a member can't close it
    click = await fake.click_button(int(card["id"]), f"poll:close|{poll_id}", user=alice)
    assert (await private_answer(fake, click))["content"] == "Only moderators can close polls."
    assert (await service.get(poll_id)).is_open  # type: ignore[union-attr]

    # the deadline passes; a click before the deadline loop has closed the card is refused; then the
    # card shows the final tally without buttons and the results are posted
    world.clock.advance(minutes=61)
    click = await fake.click_button(int(card["id"]), f"poll:vote|{poll_id}:0", user=world.carol)
    assert (await private_answer(fake, click))["content"] == CLOSED
    since = len(fake.calls)
    assert await app.polls.close_due() == 1
    (final,) = edits_of(fake, general, card["id"], since)
    assert final.json["components"] == [] and final.json["allowed_mentions"] == {"parse": []}
    closed = lines_of(final.json["content"])
    assert {"Agree: 2 (67%) ███████░░░", "Disagree: 1 (33%) ███░░░░░░░", "3 voters"} <= set(closed)
    assert closed[-1] == f"anonymous · closed {world.clock.now():%d %b %H:%M} UTC"
    assert fake.messages[int(card["id"])]["components"] == []
    (upload,) = [c for c in fake.calls[since:] if path_is("POST", rf"/channels/{general}/messages")(c)]
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    (chart,) = upload.files
    assert chart["data"].startswith(b"\x89PNG") and chart["filename"] == f"poll-{poll_id}.png"
    assert upload.json["allowed_mentions"] == {"parse": []}
    results = lines_of(upload.json["content"])
    assert results[0] == f"Results: “{MERGE}”" and "Agree: 2 (67%) ███████░░░" in results
    assert "3 voters" in results
    posted = fake.messages[int(upload.response["id"])]
    assert posted["channel_id"] == str(general) and [a["filename"] for a in posted["attachments"]] == [
        f"poll-{poll_id}.png"
    ]

    # the card of a poll the database no longer has
    orphan = await world.adapter.send(
        Where(Channel("discord", str(general))),
        Reply("Poll: “An old claim”", buttons=(Button("Agree", "poll:vote", "0123456789ab:1"),)),
    )
    click = await fake.click_button(int(orphan.message_id), "poll:vote|0123456789ab:1", user=alice)
    assert (await private_answer(fake, click))["content"] == GONE
    assert (await service.tally(await service.get(poll_id))).counts == (0, 2, 0, 1, 0)  # type: ignore[arg-type]
    assert_pings_nobody(fake)


@aio
async def test_options_are_mapped_and_action_close_closes_the_latest_poll(world: World) -> None:
    fake, app, channel = world.fake, world.app, world.close_channel
    service = app.polls.service

    # a claim alone, even one starting with "close", starts a poll (on the default scale)
    first_claim = "Close collaboration between the labs is the safer path."
    first = await start_poll(fake, {"claim": first_claim}, channel)
    assert [label for label, _ in buttons(first)] == [*SCALE, "Close poll"]
    first_id = (await posted_poll(app, first)).id
    assert (await service.get(first_id)).claim == first_claim  # type: ignore[union-attr]

    # every option reaches the poll
    world.clock.advance(minutes=1)  # "the latest poll" is the latest created
    claim = "Labs should publish their safety research."
    card = await start_poll(
        fake,
        {"claim": claim, "options": "yes | no | it depends", "duration": "2h", "anonymous": "off", "hidden": "on"},
        channel,
    )
    poll_id = poll_id_of(card)
    assert [label for label, _ in buttons(card)] == ["yes", "no", "it depends", "Close poll"]
    poll = await posted_poll(app, card)
    assert (poll.claim, poll.claim_id, poll.options, poll.anonymous, poll.hide_results) == (
        claim,
        None,
        ("yes", "no", "it depends"),
        False,
        True,
    )
    assert poll.closes_at - poll.created_at == timedelta(hours=2)
    assert "Results are hidden until the poll closes. 0 voters so far." in lines_of(card["content"])
    assert lines_of(card["content"])[-1].startswith("names visible to moderators · closes ")

    click = await fake.click_button(int(card["id"]), f"poll:vote|{poll_id}:2", user=world.bob)
    assert (await private_answer(fake, click))["content"] == "Thanks, your vote “it depends” is counted."

    # a forged click (a vote button that isn't on the clicked message) is ignored, as discord.py's
    # dynamic items check; a real click right after it is answered as that person's first vote
    notice = await world.adapter.send(Where(Channel("discord", str(channel))), Reply("Reading group at six."))
    forged = await fake.click_button(int(notice.message_id), f"poll:vote|{poll_id}:0", user=world.carol)
    click = await fake.click_button(int(card["id"]), f"poll:vote|{poll_id}:1", user=world.carol)
    assert (await private_answer(fake, click))["content"] == "Thanks, your vote “no” is counted."
    await app.polls.live.drain()
    assert (await service.tally(poll)).counts == (0, 1, 1)
    assert not [c for c in fake.calls if c.path == forged.callback_path]

    # action:close — members are refused; for a moderator it closes the latest open poll (other
    # options don't apply to closing)
    ref = await fake.send_slash_command("poll", {"action": "close"}, user=fake.member_id, channel_id=channel)
    assert (await private_answer(fake, ref))["content"] == "Only moderators can close polls."
    assert (await service.get(poll_id)).is_open  # type: ignore[union-attr]

    since = len(fake.calls)
    ref = await fake.send_slash_command(
        "poll", {"action": "close", "claim": "Not a poll to start."}, user=fake.moderator_id, channel_id=channel
    )
    assert (await private_answer(fake, ref))["content"] == "Poll closed; results are posted."
    assert not (await service.get(poll_id)).is_open  # type: ignore[union-attr]
    assert (await service.get(first_id)).is_open  # type: ignore[union-attr]
    (final,) = edits_of(fake, channel, card["id"], since)
    assert final.json["components"] == []
    assert {"no: 1 (50%) █████░░░░░", "it depends: 1 (50%) █████░░░░░"} <= set(lines_of(final.json["content"]))
    (upload,) = [c for c in fake.calls[since:] if path_is("POST", rf"/channels/{channel}/messages")(c)]
    assert upload.files[0]["data"].startswith(b"\x89PNG") and f"Results: “{claim}”" in upload.json["content"]
    assert not [
        c
        for c in fake.calls[since:]
        if c.path.startswith(f"/webhooks/{fake.application_id}/")
        and c.method == "POST"
        and not (c.json or {}).get("flags", 0) & EPHEMERAL
    ]  # no new card

    ref = await fake.send_slash_command("poll", {"action": "close"}, user=fake.moderator_id, channel_id=channel)
    assert (await private_answer(fake, ref))["content"] == "Poll closed; results are posted."
    assert not (await service.get(first_id)).is_open  # type: ignore[union-attr]
    ref = await fake.send_slash_command("poll", {"action": "close"}, user=fake.moderator_id, channel_id=channel)
    assert (await private_answer(fake, ref))["content"] == "There is no open poll here to close."
    assert_pings_nobody(fake)


# =========================================================================== after a restart


@aio
async def test_the_buttons_of_an_old_card_work_after_a_restart(world: World) -> None:
    fake, channel = world.fake, world.restart_channel
    card = await start_poll(fake, {"claim": BREADTH_ID, "duration": "3d"}, channel)  # the value autocomplete sends
    poll_id = poll_id_of(card)
    assert lines_of(card["content"])[0] == f"Poll: “{BREADTH}”"  # the id was resolved to the bank claim
    assert (await posted_poll(world.app, card)).claim_id == BREADTH_ID

    synced = path_is("PUT", f"/applications/{fake.application_id}/commands")
    puts = len([c for c in fake.calls if synced(c)])
    await world.adapter.stop()  # the bot goes away; a new process (new app, new client) takes over
    try:
        async with open_readbot(world.settings, world.knowledge, ManualClock(world.clock.now())) as app:
            (adapter,) = app.adapters
            assert adapter is not world.adapter and app.db is not world.app.db
            # the same declarations as the last sync (its hash kept in the database): not synced again
            key = f"discord:{fake.application_id}:commands"
            assert await BotState(app.db).get(key) == spec_hash(app.dispatcher.routes.specs)
            assert len([c for c in fake.calls if synced(c)]) == puts
            since = len(fake.calls)
            click = await fake.click_button(int(card["id"]), f"poll:vote|{poll_id}:2", user=world.carol)
            said = (await private_answer(fake, click))["content"]
            assert said == "Thanks, your vote “Unsure” is counted."
            await app.polls.live.drain()
            edit = edits_of(fake, channel, card["id"], since)[-1]
            assert {"Unsure: 1 (100%) ██████████", "1 voter"} <= set(lines_of(edit.json["content"]))
            assert buttons(fake.messages[int(card["id"])]) == buttons(card)
    finally:
        await world.adapter.start()
    assert_pings_nobody(fake)
