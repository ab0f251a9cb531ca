"""/reading end to end on Slack and on Discord, through the real clients against the local fakes.

readbot is opened as ``readbot run`` opens it (``open_app`` with the adapter built as the runner builds
it, the features' declarations, its own knowledge service on a fresh data dir: a reading added here
never reaches the session's shared index), with:

* Slack: the slack-bolt adapter in HTTP mode on a free 127.0.0.1 port, every request signed, against
  ``tests/fakes/slack_server.FakeSlackAPI``; the moderator is a workspace admin (``users.info``), who
  shares the file in the channel and then runs ``/reading add ID``;
* Discord: the discord.py adapter against ``tests/fakes/discord_server.FakeDiscord``; the moderator has
  Manage Messages, and ``/reading`` gets ``action: add``, ``id`` and the file in its ``file`` option.

Per platform: a moderator adds a small markdown reading (three sections, made here) and is told
privately it was added; ``/reading use`` is confirmed for the channel to see; a mention asking what
the reading says is answered with a citation from it; a member's ``/reading add`` is refused
privately; a file that isn't what its name says is refused in one private line and nothing is added.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import DiscordAdapter
from bot.adapters.slack.adapter import SlackAdapter
from bot.app import AdapterKit, App, open_app
from bot.settings import Settings
from tests.fakes.assertions import assert_no_mass_mention, assert_pings_nobody
from tests.fakes.discord_server import EPHEMERAL, FakeAttachment, FakeDiscord, InteractionRef
from tests.fakes.discord_server import RecordedCall as DiscordCall
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    RecordedCall,
    new_ts,
    send_app_mention,
    send_slash_command,
)

SECRET = "readbot-readings-signing-secret"
DISCORD_TOKEN = "MTIz.fake.token"
WAIT = 60.0  # seconds a reply may take on a busy 2-core machine (indexing runs first); no timing is asserted
aio = pytest.mark.asyncio(loop_scope="module")

SOURDOUGH = b"""# Sourdough at Home

## The Starter

A sourdough starter is a living culture of wild yeast and lactic acid bacteria kept in a jar of flour and water.
Feed the starter twice a day with equal weights of rye flour and water, and discard half of it before each feeding.
A healthy starter doubles in size within six hours of a feeding and smells pleasantly sour, like yoghurt.

## Mixing and Folding

Mix the flour and water first and let them rest for forty minutes; bakers call this pause the autolyse.
Add the ripe starter and the salt after the autolyse, then squeeze the dough until they disappear into it.
Instead of kneading, give the dough four sets of stretch and folds, half an hour apart, during the bulk fermentation.

## Baking the Loaf

Bake the loaf in a Dutch oven preheated to 250 degrees Celsius for twenty minutes with the lid on.
Remove the lid and bake for another twenty-five minutes, until the crust is deep brown and sounds hollow when tapped.
Let the bread cool on a rack for at least an hour before slicing it, or the crumb turns gummy.
"""
SECTIONS = ("The Starter", "Mixing and Folding", "Baking the Loaf")
QUESTION = "How often should the starter be fed?"
ANSWER = "Feed the starter twice a day with equal weights of rye flour and water"
ADDED = (
    "Added “Sourdough at Home” (sourdough) from sourdough.md: 3 sections. "
    "Make it this channel's reading with /reading use sourdough. "
    "Drafted 5 discussion questions and 3 poll claims from it: review them with /prompt drafts and /poll drafts."
)
ADDING = "Adding sourdough.md as sourdough (3 sections)… I'll say here when it's ready."
USED = "This channel now reads “Sourdough at Home” (sourdough). Questions here search it first."
REFUSED = "Only moderators can add readings."
NOT_A_PDF = "sourdough.pdf is not a PDF (it is text): export it again as a PDF"
SHIPPED = "dwarkesh-107-ilya-sutskever"


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Refusals are answers, not failures in the log."""
    failures = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]


def one_line(text: str) -> str:
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


async def reading_ids(app: App) -> list[str]:
    return [r.id for r in await app.readings.listed()]


def env_for(data_dir: Path) -> dict[str, str]:
    return {"READBOT_DATA_DIR": str(data_dir), "READBOT_CONFIG": str(data_dir / "none.toml")}


# ============================================================================ Slack

ADMIN, MEMBER = "U0ADA", "U0MAX"


@dataclass
class SlackWorld:
    fake: FakeSlackAPI
    app: App
    adapter: SlackAdapter

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.http_port}/slack/events"

    async def command(self, text: str, *, user: str, channel: str) -> None:
        resp = await send_slash_command(self.url, SECRET, "/reading", text, user_id=user, channel_id=channel)
        assert resp.status == 200 and resp.body == ""  # acknowledged at once, nothing shown by the ack

    async def private(self, user: str, channel: str, count: int = 1) -> list[str]:
        """The texts of the first ``count`` private (ephemeral) messages to ``user`` in ``channel``."""
        calls = await self.fake.wait_for_calls("chat.postEphemeral", count, to(user, channel), timeout=WAIT)
        return [one_line(str(c.args["text"])) for c in calls]

    def ephemeral_count(self, channel: str) -> int:
        return len([c for c in self.fake.calls_to("chat.postEphemeral") if c.args.get("channel") == channel])


def to(user: str, channel: str) -> Callable[[RecordedCall], bool]:
    return lambda c: c.args.get("channel") == channel and c.args.get("user") == user


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:9].upper()}"


def downloaded(fake: FakeSlackAPI, file_id: str) -> list[RecordedCall]:
    return [c for c in fake.calls_to("file_download") if c.args["file"] == file_id]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def slack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SlackWorld]:
    data_dir = tmp_path_factory.mktemp("slack-readings")

    def make(kit: AdapterKit) -> SlackAdapter:  # as the runner builds it, on loopback
        return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1", commands=kit.commands)

    async with FakeSlackAPI() as fake:
        fake.add_user(ADMIN, "ada", is_admin=True)  # a workspace admin: a moderator
        fake.add_user(MEMBER, "max")
        env = {
            **env_for(data_dir),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
        }
        settings = dataclasses.replace(Settings.from_env(env, dotenv=None), http_port=0)  # a free port
        assert settings.moderators == frozenset()  # moderators come from Slack itself here
        async with open_app(settings, adapters=[make], run_tasks=False) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter) and adapter.mode == "http"
            yield SlackWorld(fake, app, adapter)


@aio
async def test_slack_a_moderator_adds_and_uses_a_reading_and_mentions_are_answered_from_it(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake, channel = slack.fake, new_channel()
    shared = fake.share_file(channel, "sourdough.md", SOURDOUGH, user=ADMIN, mimetype="text/markdown")
    await slack.command("add sourdough", user=ADMIN, channel=channel)
    assert await slack.private(ADMIN, channel, 2) == [ADDING, ADDED]
    (download,) = downloaded(fake, shared.id)
    assert download.args["complete"] and download.headers["Authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}"
    assert "sourdough" in await reading_ids(slack.app)
    assert (await slack.app.readings.get("sourdough")).sections == SECTIONS

    await slack.command("use sourdough", user=ADMIN, channel=channel)
    confirmed = await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == channel, timeout=WAIT)
    assert confirmed.args["text"] == USED and not confirmed.args.get("thread_ts")  # in the channel, for everyone
    assert await slack.app.readings.current("slack", channel) == "sourdough"

    ts = new_ts()
    resp = await send_app_mention(slack.url, SECRET, QUESTION, channel=channel, user=MEMBER, ts=ts)
    assert resp.status == 200
    answer = await fake.wait_for_call(
        "chat.postMessage", lambda c: c.args.get("channel") == channel and c.args.get("thread_ts") == ts, timeout=WAIT
    )
    assert ANSWER in answer.args["text"]
    context = [b for b in answer.args["blocks"] if b["type"] == "context"]
    assert context and context[0]["elements"][0]["text"] == "Source: “The Starter” (sourdough)"
    for call in (confirmed, answer):
        assert_no_mass_mention(call.args)
    no_tracebacks(caplog)


@aio
async def test_slack_a_members_add_is_refused_privately(slack: SlackWorld, caplog: pytest.LogCaptureFixture) -> None:
    fake, channel = slack.fake, new_channel()
    before = await reading_ids(slack.app)
    shared = fake.share_file(channel, "sourdough.md", SOURDOUGH, user=MEMBER, mimetype="text/markdown")
    await slack.command("add member-bread", user=MEMBER, channel=channel)
    assert await slack.private(MEMBER, channel) == [REFUSED]
    await slack.adapter.idle()
    assert slack.ephemeral_count(channel) == 1
    assert not [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == channel]
    assert not downloaded(fake, shared.id)  # refused before the file is fetched
    assert await reading_ids(slack.app) == before
    assert await slack.app.readings.store.get("member-bread") is None
    no_tracebacks(caplog)


@aio
async def test_slack_a_file_that_isnt_what_its_name_says_is_refused_and_nothing_is_added(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake, channel = slack.fake, new_channel()
    before = await reading_ids(slack.app)
    fake.share_file(channel, "sourdough.pdf", SOURDOUGH, user=ADMIN, mimetype="application/pdf")  # text, named .pdf
    await slack.command("add not-a-pdf", user=ADMIN, channel=channel)
    assert await slack.private(ADMIN, channel) == [NOT_A_PDF]
    await slack.adapter.idle()
    assert slack.ephemeral_count(channel) == 1  # one line: no "Adding …" before it
    assert await reading_ids(slack.app) == before
    assert await slack.app.readings.store.get("not-a-pdf") is None
    assert not slack.app.readings.path_of("not-a-pdf").exists()
    no_tracebacks(caplog)


# ============================================================================ Discord


@dataclass
class DiscordWorld:
    fake: FakeDiscord
    app: App
    bakery: int  # a channel of its own for the add → use → mention scenario

    async def answers(self, ref: InteractionRef, count: int) -> list[tuple[str, bool]]:
        """The first ``count`` messages answering an interaction, as (text, private): the initial response
        (unless it only deferred) and the follow-ups."""
        fake, seen, found = self.fake, set[int](), []
        webhook = f"/webhooks/{fake.application_id}/{ref.token}"

        def answer(call: DiscordCall) -> bool:
            if id(call) in seen or call.method != "POST":
                return False
            if call.path == ref.callback_path:
                return bool(call.json["type"] == 4)
            return call.path == webhook

        while len(found) < count:
            call = await fake.wait_for_call(answer, timeout=WAIT)
            seen.add(id(call))
            body = call.json["data"] if call.path == ref.callback_path else call.json
            found.append((one_line(str(body["content"])), bool(body.get("flags", 0) & EPHEMERAL)))
        return found

    def answered(self, ref: InteractionRef) -> int:
        webhook = f"/webhooks/{self.fake.application_id}/{ref.token}"
        return len([c for c in self.fake.calls if c.method == "POST" and c.path == webhook]) + len(
            [c for c in self.fake.calls if c.path == ref.callback_path and c.json["type"] == 4]
        )


def markdown(name: str = "sourdough.md", data: bytes = SOURDOUGH, content_type: str = "text/markdown") -> Any:
    return {"file": FakeAttachment(name, data, content_type=content_type)}


def downloads_of(fake: FakeDiscord, name: str) -> list[DiscordCall]:
    return [c for c in fake.downloads if c.path.endswith(f"/{name}")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def discord_world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DiscordWorld]:
    fake = FakeDiscord(DISCORD_TOKEN)
    bakery = fake.add_text_channel("bakery")  # before the bot connects: the guild is a snapshot
    await fake.start()
    env = {
        **env_for(tmp_path_factory.mktemp("discord-readings")),
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }

    def make(kit: AdapterKit) -> DiscordAdapter:  # as the runner builds it
        return DiscordAdapter(
            kit.settings, kit.dispatcher, commands=kit.commands, state=kit.state, guild_ready_timeout=0.1
        )

    try:
        async with open_app(Settings.from_env(env, dotenv=None), adapters=[make], run_tasks=False) as app:
            yield DiscordWorld(fake, app, bakery)
    finally:
        await fake.stop()


@aio
async def test_discord_the_reading_command_takes_a_file(discord_world: DiscordWorld) -> None:
    fake = discord_world.fake
    put = await fake.wait_for_call(
        lambda c: c.method == "PUT" and c.path == f"/applications/{fake.application_id}/commands", timeout=WAIT
    )
    (reading,) = [c for c in put.json if c["name"] == "reading"]
    types = {o["name"]: o["type"] for o in reading["options"]}
    assert types == {"action": 3, "id": 3, "file": 11, "title": 3, "section": 3}  # the file: an ATTACHMENT option
    action = next(o for o in reading["options"] if o["name"] == "action")
    assert [c["value"] for c in action["choices"]] == ["show", "list", "use", "add", "remove", "progress"]


@aio
async def test_discord_a_moderator_adds_and_uses_a_reading_and_mentions_are_answered_from_it(
    discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world, fake, channel = discord_world, discord_world.fake, discord_world.bakery
    added = await fake.send_slash_command(
        "reading",
        {"action": "add", "id": "sourdough"},
        user=fake.moderator_id,
        channel_id=channel,
        attachments=markdown(),
    )
    assert await world.answers(added, 2) == [(ADDING, True), (ADDED, True)]
    (download,) = downloads_of(fake, "sourdough.md")
    assert download.status == 200 and download.response["complete"]
    assert (await world.app.readings.get("sourdough")).sections == SECTIONS

    used = await fake.send_slash_command(
        "reading", {"action": "use", "id": "sourdough"}, user=fake.moderator_id, channel_id=channel
    )
    assert await world.answers(used, 1) == [(USED, False)]  # for the channel to see
    assert await world.app.readings.current("discord", str(channel)) == "sourdough"

    question = await fake.send_message(channel, QUESTION, mentions_bot=True)  # a member asks
    thread = int(question["id"])  # the answer goes in a thread started from the question
    answer = await fake.wait_for_message(thread, lambda m: m["author"]["id"] == str(fake.bot_user_id), timeout=WAIT)
    assert ANSWER in answer["content"]
    (embed,) = answer["embeds"]
    assert embed["title"] == "Source" and embed["description"].startswith("“The Starter” (sourdough)\n> Feed the")
    assert answer["mentions"] == [] and not answer["mention_everyone"]
    assert_pings_nobody(fake)
    no_tracebacks(caplog)


@aio
async def test_discord_a_members_add_is_refused_privately(
    discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world, fake = discord_world, discord_world.fake
    before = await reading_ids(world.app)
    refused = await fake.send_slash_command(
        "reading",
        {"action": "add", "id": "member-bread"},
        user=fake.member_id,
        attachments=markdown("member-bread.md"),
    )
    assert await world.answers(refused, 1) == [(REFUSED, True)]
    assert not downloads_of(fake, "member-bread.md")  # refused before the file is fetched
    assert await reading_ids(world.app) == before
    assert await world.app.readings.store.get("member-bread") is None
    no_tracebacks(caplog)


@aio
async def test_discord_a_file_that_isnt_what_its_name_says_is_refused_and_nothing_is_added(
    discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world, fake = discord_world, discord_world.fake
    before = await reading_ids(world.app)
    ref = await fake.send_slash_command(
        "reading",
        {"action": "add", "id": "not-a-pdf"},
        user=fake.moderator_id,
        attachments=markdown("sourdough.pdf", content_type="application/pdf"),  # text, named .pdf
    )
    assert await world.answers(ref, 1) == [(NOT_A_PDF, True)]
    await fake.wait_for_download(lambda c: c.path.endswith("/sourdough.pdf"), timeout=WAIT)  # it was looked at
    assert world.answered(ref) == 1  # the refusal was the first answer and the handler's last word: one line
    assert await reading_ids(world.app) == before
    assert await world.app.readings.store.get("not-a-pdf") is None
    assert not world.app.readings.path_of("not-a-pdf").exists()
    assert SHIPPED in before
    no_tracebacks(caplog)
