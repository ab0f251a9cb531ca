"""End-to-end checks that the real discord.py client works against tests/fakes/discord_server.FakeDiscord."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from tests.fakes.discord_server import (
    EPHEMERAL,
    LOADING,
    ExternalNetworkBlocked,
    FakeAttachment,
    FakeDiscord,
    RecordedCall,
    block_external_network,
)

pytestmark = pytest.mark.asyncio

TOKEN = "test-token-123"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HELPFUL_ID = "readbot:answer:helpful"


class AnswerView(discord.ui.View):
    """Persistent view: no timeout, every item has a stable custom_id."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success, custom_id=HELPFUL_ID)
    async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]) -> None:
        await interaction.response.edit_message(content="Thanks for the feedback!", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(label="Text", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got: {self.text.value}", ephemeral=True)


class ReadBot(discord.Client):
    def __init__(self) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        # guild_ready_timeout: on_ready fires this long after the last GUILD_CREATE (default 2s).
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.ready = asyncio.Event()
        self.seen_permissions: list[tuple[bool, bool]] = []  # (user can manage messages, bot can send)
        self.synced: list[app_commands.AppCommand] = []

        @self.tree.command(name="ask", description="Ask readbot a question")
        @app_commands.describe(question="What do you want to know?")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            self.seen_permissions.append(
                (interaction.permissions.manage_messages, interaction.app_permissions.send_messages)
            )
            await interaction.response.defer()
            await interaction.followup.send(f"Answer to: {question}", view=AnswerView())

        @self.tree.command(name="chart", description="Upload a chart")
        async def chart(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("here", file=discord.File(io.BytesIO(PNG), "chart.png"))

        @self.tree.command(name="attach", description="Attach a file")
        async def attach(interaction: discord.Interaction, file: discord.Attachment) -> None:
            data = await file.read()  # discord.py's own download, from the fake's CDN
            await interaction.response.send_message(f"{file.filename}: {len(data)} bytes", ephemeral=True)

        @self.tree.command(name="topic", description="Pick a topic")
        async def topic(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @topic.autocomplete("name")
        async def topic_complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            topics = ("python", "pytest")
            return [app_commands.Choice(name=t, value=t) for t in topics if t.startswith(current)]

    async def setup_hook(self) -> None:
        self.add_view(AnswerView())
        self.synced = await self.tree.sync()

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user not in message.mentions:
            return
        thread = await message.create_thread(name=f"Q: {message.clean_content[:40]}")
        await thread.send(f"Looking into it, {message.author.mention}!")


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    with block_external_network() as attempts:
        server = FakeDiscord(TOKEN)
        await server.start()
        try:
            with server.patch_discord_py():
                yield server
        finally:
            await server.stop()
    assert attempts == [], f"something tried to reach the network: {attempts}"


@contextlib.asynccontextmanager
async def running(client: ReadBot, token: str = TOKEN) -> AsyncIterator[ReadBot]:
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    try:
        if task in done:
            task.result()
            raise AssertionError("client.start() returned before on_ready")
        assert ready in done, "on_ready not dispatched within 5s"
        yield client
    finally:
        ready.cancel()
        await client.close()
        await asyncio.wait_for(task, 5)


def posted(path: str, method: str = "POST") -> Callable[[RecordedCall], bool]:
    return lambda c: c.method == method and c.path == path


async def test_connects_syncs_and_sees_guild(fake: FakeDiscord) -> None:
    async with running(ReadBot()) as bot:
        put = await fake.wait_for_call(posted(f"/applications/{fake.application_id}/commands", "PUT"))
        assert sorted(c["name"] for c in put.json) == ["ask", "attach", "chart", "topic"]
        assert {c.name for c in bot.synced} == {"ask", "attach", "chart", "topic"} and all(c.id for c in bot.synced)
        assert put.headers["Authorization"] == f"Bot {TOKEN}"
        # discord.py always asks for compression: zstd-stream when `zstandard` is importable, else zlib-stream
        expected = discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE
        assert fake.gateway_connections[0] == {"v": "10", "encoding": "json", "compress": expected}
        assert fake.identify_payloads[0]["intents"] == bot.intents.value
        assert {p["op"] for p in fake.gateway_received} >= {1, 2}  # heartbeat + identify

        assert bot.user is not None and bot.user.id == fake.bot_user_id
        assert bot.application_id == fake.application_id
        guild = bot.get_guild(fake.guild_id)
        assert guild is not None and guild.owner_id == fake.owner_id
        # without the members intent discord.py caches no members from GUILD_CREATE (only itself): fetch them
        assert guild.get_member(fake.member_id) is None and guild.me is not None
        mod, alice = await guild.fetch_member(fake.moderator_id), await guild.fetch_member(fake.member_id)
        general, staff = guild.get_channel(fake.general_id), guild.get_channel(fake.staff_id)
        assert isinstance(general, discord.TextChannel) and isinstance(staff, discord.TextChannel)
        assert general.permissions_for(mod).manage_messages
        assert not general.permissions_for(alice).manage_messages
        assert staff.permissions_for(mod).view_channel and not staff.permissions_for(alice).view_channel


async def test_mention_creates_thread_and_replies_without_pinging(fake: FakeDiscord) -> None:
    async with running(ReadBot()):
        await fake.send_message(fake.general_id, "no mention here")
        question = await fake.send_message(fake.general_id, "how do I test bots?", mentions_bot=True)

        thread_path = f"/channels/{fake.general_id}/messages/{question['id']}/threads"
        thread_call = await fake.wait_for_call(posted(thread_path))
        assert thread_call.status == 200 and thread_call.json["name"].startswith("Q: @readbot how do I")
        thread_id = int(thread_call.response["id"])
        assert thread_id == int(question["id"]) and fake.channels[thread_id]["type"] == 11

        send = await fake.wait_for_call(posted(f"/channels/{thread_id}/messages"))
        assert send.json["content"] == f"Looking into it, <@{fake.member_id}>!"
        assert send.json["allowed_mentions"] == {"parse": []}
        reply = fake.messages_in(thread_id)[0]
        assert reply["author"]["id"] == str(fake.bot_user_id) and reply["mentions"] == []  # nobody pinged

        # only one thread: the un-mentioned message and the bot's own echoed message were ignored
        await asyncio.sleep(0.05)
        assert len([c for c in fake.calls if c.path.endswith("/threads")]) == 1


async def test_slash_command_defer_then_followup(fake: FakeDiscord) -> None:
    async with running(ReadBot()) as bot:
        ref = await fake.send_slash_command("ask", {"question": "What is X?"}, user=fake.moderator_id)
        callback = await fake.wait_for_interaction_response(ref)
        assert callback.json == {"type": 5} and callback.query == {"with_response": "1"}
        assert "Authorization" not in callback.headers  # interaction webhooks are token-authenticated

        followup = await fake.wait_for_call(posted(f"/webhooks/{fake.application_id}/{ref.token}"))
        assert followup.query == {"wait": "1", "with_components": "1"}
        assert followup.json["content"] == "Answer to: What is X?"
        assert followup.json["allowed_mentions"] == {"parse": []}
        assert followup.json["components"][0]["components"][0]["custom_id"] == HELPFUL_ID
        # the first follow-up after a defer replaces the "thinking..." message
        assert int(followup.response["id"]) == ref.original_id
        assert not followup.response["flags"] & LOADING and followup.response["type"] == 20

        await fake.send_slash_command("ask", {"question": "again"}, user=fake.member_id)
        await fake.wait_for_message(fake.general_id, lambda m: m["content"] == "Answer to: again")
        assert bot.seen_permissions == [(True, True), (False, True)]


async def test_persistent_view_click_after_restart(fake: FakeDiscord) -> None:
    async with running(ReadBot()):
        ref = await fake.send_slash_command("ask", {"question": "persist?"})
        answer = await fake.wait_for_message(fake.general_id, lambda m: m["content"] == "Answer to: persist?")
    assert ref.original_id == int(answer["id"])

    # a brand-new client only knows the view via add_view() in setup_hook
    async with running(ReadBot()):
        click = await fake.click_button(int(answer["id"]), HELPFUL_ID, user=fake.moderator_id)
        callback = await fake.wait_for_interaction_response(click)
        assert callback.status == 200 and callback.json["type"] == 7
        assert callback.json["data"]["content"] == "Thanks for the feedback!"
        assert callback.json["data"]["components"] == []
        edited = fake.messages[int(answer["id"])]
        assert edited["content"] == "Thanks for the feedback!" and edited["edited_timestamp"] is not None


async def test_multipart_upload_is_recorded_and_served(fake: FakeDiscord) -> None:
    async with running(ReadBot()):
        ref = await fake.send_slash_command("chart")
        callback = await fake.wait_for_interaction_response(ref)
        assert callback.json["type"] == 4 and callback.json["data"]["content"] == "here"
        uploaded = [(f["field"], f["filename"], f["data"]) for f in callback.files]
        assert uploaded == [("files[0]", "chart.png", PNG)]
        attachment = callback.response["resource"]["message"]["attachments"][0]
        assert attachment["filename"] == "chart.png" and attachment["size"] == len(PNG)
        async with aiohttp.ClientSession() as session, session.get(attachment["url"]) as resp:
            assert await resp.read() == PNG


async def test_slash_command_attachments_are_resolved_and_served(fake: FakeDiscord) -> None:
    async with running(ReadBot()):
        put = await fake.wait_for_call(posted(f"/applications/{fake.application_id}/commands", "PUT"))
        (option,) = next(c for c in put.json if c["name"] == "attach")["options"]
        assert (option["name"], option["type"]) == ("file", 11)  # discord.Attachment -> ATTACHMENT
        ref = await fake.send_slash_command("attach", attachments={"file": FakeAttachment("a.txt", b"hello")})
        reply = await fake.wait_for_interaction_response(ref)
        assert reply.json["data"]["content"] == "a.txt: 5 bytes" and reply.json["data"]["flags"] == EPHEMERAL
        download = await fake.wait_for_download()
        assert download.status == 200 and download.response == {"sent": 5, "complete": True}

        fake.fail_download("b.txt", status=500)
        await fake.send_slash_command("attach", attachments={"file": FakeAttachment("b.txt", b"x")})
        await fake.wait_for_download(lambda c: c.path.endswith("/b.txt"))
        assert [c.status for c in fake.downloads if c.path.endswith("/b.txt")] == [500]

    attachment = fake.attach(FakeAttachment("c.txt", b"c" * 10, content_type="text/plain", size=3))
    assert attachment["size"] == 3 and "hm=" in attachment["url"]
    async with aiohttp.ClientSession() as session:
        async with session.get(attachment["url"]) as resp:  # the declared size lies: sent without a length
            assert resp.status == 200 and resp.content_length is None and await resp.read() == b"c" * 10
        async with session.get(attachment["url"].split("?")[0]) as resp:  # unsigned: no such content
            assert resp.status == 404


async def test_autocomplete_and_modal(fake: FakeDiscord) -> None:
    async with running(ReadBot()):
        auto = await fake.send_autocomplete("topic", {"name": "pyth"}, focused="name")
        choices = await fake.wait_for_interaction_response(auto)
        assert choices.json == {"type": 8, "data": {"choices": [{"name": "python", "value": "python"}]}}

        cmd = await fake.send_slash_command("topic", {"name": "python"})
        modal = await fake.wait_for_interaction_response(cmd)
        assert modal.json["type"] == 9 and modal.json["data"]["title"] == "Feedback"

        submit = await fake.submit_modal(modal.json["data"]["custom_id"], {"feedback:text": "great"})
        reply = await fake.wait_for_interaction_response(submit)
        assert reply.json["data"]["content"] == "got: great" and reply.json["data"]["flags"] == EPHEMERAL


async def test_errors_are_loud(fake: FakeDiscord) -> None:
    with pytest.raises(discord.LoginFailure):
        async with running(ReadBot(), token="wrong"):
            pass
    async with running(ReadBot()) as bot:
        with pytest.raises(discord.NotFound):
            await bot.fetch_guild(fake.guild_id)  # no such route in the fake -> recorded 404
        unknown: RecordedCall = await fake.wait_for_call(posted(f"/guilds/{fake.guild_id}", "GET"))
        assert unknown.status == 404
        ref = await fake.send_slash_command("ask", {"question": "ignored button?"})
        await fake.wait_for_interaction_response(ref)
        assert ref.original_id is not None
        # nothing handles this custom_id: discord.py drops the interaction silently
        ghost = await fake.click_button(ref.original_id, "nobody:handles:this")
        with pytest.raises(AssertionError, match=r"nothing matched within 0\.2s; REST calls:"):
            await fake.wait_for_interaction_response(ghost, timeout=0.2)


async def test_unpatched_discord_py_fails_loudly() -> None:
    with block_external_network() as attempts:
        client = discord.Client(intents=discord.Intents.none())
        try:
            with pytest.raises(ExternalNetworkBlocked, match=r"discord\.com"):
                await client.login(TOKEN)
        finally:
            await client.close()
    assert attempts == ["discord.com"]
