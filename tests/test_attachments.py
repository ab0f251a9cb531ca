"""Files people attach: from the platform to a handler, and fetched through the adapter.

A test-only feature declares ``/upload`` (a file option, and a text note) and answers privately with
the attachment's name, the number of bytes fetched through ``Outbox.fetch`` and a digest of the first
bytes. It runs in ``open_app`` with each front end:

* Slack: the real slack-bolt/slack_sdk adapter against ``tests/fakes/slack_server.FakeSlackAPI`` (a
  file the person shared shortly before the command, found with ``files.list``; a mention posted with a
  file; the download with the bot token);
* Discord: the real discord.py adapter against ``tests/fakes/discord_server.FakeDiscord`` (an
  attachment option, type 11, the file in the interaction's resolved data, fetched from the fake CDN);
* the console: a path typed last.

Bad input (a file declared over the limit, one whose declared size lies, a failed download) gets one
private line, never a traceback; a lying size stops the download one byte past the limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.console import ConsoleAdapter, attach_path
from bot.adapters.discord import DiscordAdapter
from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.translate import message_from_dm, message_from_mention, recent_attachment
from bot.app import AdapterKit, App, open_app
from bot.core.adapter import Responder
from bot.core.commands import CommandSpec, OptionSpec, spec_hash
from bot.core.dispatcher import Dispatcher
from bot.core.events import Attachment, Channel, Command, Event, Message, Reply, User, Visibility, Where
from bot.core.feature import Feature, Routes
from bot.core.files import FileTooLarge, FileUnavailable, read_bounded
from bot.core.outbox import Outbox
from bot.settings import Settings
from tests.fakes.discord_server import EPHEMERAL, FakeAttachment, FakeDiscord
from tests.fakes.discord_server import RecordedCall as DiscordCall
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    DEFAULT_SCOPES,
    DEFAULT_USER_ID,
    FakeSlackAPI,
    RecordedCall,
    event_envelope,
    send_app_mention,
    send_message_event,
    send_slash_command,
)

LIMIT = 1_000_000  # what /upload accepts: 1 MB
HUGE = 32 * 1024 * 1024  # a body far beyond what socket buffers hold: it can't all be sent if reading stops
SECRET = "readbot-test-signing-secret"
DISCORD_TOKEN = "MTIz.fake.token"
aio = pytest.mark.asyncio(loop_scope="module")

UPLOAD = CommandSpec(
    "upload",
    "Upload a file (tests)",
    options=(OptionSpec("note", "A note about it"), OptionSpec("file", "The file", kind="file")),
    usage="[note]",
    free_text="note",
)


def digest(data: bytes) -> str:
    return hashlib.sha256(data[:1024]).hexdigest()[:16]


def said(name: str, data: bytes) -> str:
    """What /upload answers for a file fetched whole."""
    return f"upload: {name}, {len(data)} bytes, sha256 {digest(data)}"


class Uploads:
    """The test feature: /upload fetches the command's first attachment through the outbox."""

    def __init__(self) -> None:
        self.outbox: Outbox | None = None
        self.seen: list[Command] = []

    async def upload(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command) and self.outbox is not None
        self.seen.append(event)
        if not event.attachments:
            await responder.reply(Reply("upload: no file", visibility=Visibility.PRIVATE))
            return
        attachment = event.attachments[0]
        data = await self.outbox.fetch(event.where.channel.platform, attachment, limit=LIMIT)
        await responder.reply(Reply(said(attachment.name, data), visibility=Visibility.PRIVATE))

    def feature(self) -> Feature:
        return Feature("uploads", commands=((UPLOAD, self.upload),))

    def last(self, predicate: Callable[[Command], bool]) -> Command:
        return next(c for c in reversed(self.seen) if predicate(c))


class Spy:
    """The real dispatcher, remembering what reached it."""

    def __init__(self, inner: Dispatcher) -> None:
        self.inner = inner
        self.events: list[Event] = []

    async def dispatch(self, event: Event, responder: Responder) -> bool:
        self.events.append(event)
        return await self.inner.dispatch(event, responder)


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Bad input is answered, not logged as a failure."""
    failures = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]


def one_line(text: str) -> str:
    assert "\n" not in text and "Traceback" not in text, text
    return text


# ============================================================================ the kernel


def test_the_command_hash_changes_with_an_options_kind() -> None:
    text = CommandSpec("upload", "Upload", options=(OptionSpec("file", "The file"),))
    file = CommandSpec("upload", "Upload", options=(OptionSpec("file", "The file", kind="file"),))
    assert text.options[0].describe()["kind"] == "text" and file.options[0].describe()["kind"] == "file"
    assert spec_hash([text]) != spec_hash([file])
    assert file.takes_file and not text.takes_file
    with pytest.raises(ValueError, match="kind"):
        OptionSpec("file", "The file", kind="image")
    with pytest.raises(ValueError, match="no choices"):
        OptionSpec("file", "The file", kind="file", choices=("a", "b"))


def test_size_errors_are_one_clear_line() -> None:
    assert str(FileTooLarge("kari.epub", 50 * 10**6, 61_200_000)) == "kari.epub is 61.2 MB; the limit is 50 MB."
    assert str(FileTooLarge("kari.epub", 50 * 10**6)) == "kari.epub is larger than 50 MB; the limit is 50 MB."
    assert str(FileTooLarge("a\nb.txt", 1500, 2048)) == "a b.txt is 2 KB; the limit is 1.5 KB."
    unavailable = FileUnavailable("kari.epub", "Slack answered HTTP 500", source="Slack")
    assert str(unavailable) == "I couldn't download kari.epub from Slack: Slack answered HTTP 500."
    assert str(FileUnavailable("notes", "Is a directory")) == "I couldn't read notes: Is a directory."


@pytest.mark.asyncio
async def test_a_bounded_read_takes_one_byte_past_the_limit_and_no_more() -> None:
    stream = asyncio.StreamReader()
    stream.feed_data(b"x" * 100_000)
    stream.feed_eof()
    with pytest.raises(FileTooLarge, match="larger than 10 KB"):
        await read_bounded(stream.read, "big.bin", 10_000)
    assert len(await stream.read()) == 100_000 - 10_001  # the rest was never read
    small = asyncio.StreamReader()
    small.feed_data(b"y" * 10_000)
    small.feed_eof()
    assert await read_bounded(small.read, "ok.bin", 10_000) == b"y" * 10_000  # exactly the limit is fine


def test_slack_files_on_messages_and_the_recent_file_of_a_command() -> None:
    file = {"id": "F1", "name": "kari.epub", "size": 1234, "mimetype": "application/epub+zip", "created": 100}
    mention = {
        "type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "ts": "1.1",
        "text": "<@UBOT> add",
        "files": [file],
    }
    message = message_from_mention(event_envelope(mention), "UBOT")
    assert message.attachments == (Attachment("F1", "kari.epub", 1234, "application/epub+zip"),)
    dm = {**mention, "type": "message", "channel_type": "im", "subtype": "file_share", "text": "here"}
    dm["files"] = [file, {"id": "F2", "mode": "tombstone"}]  # a deleted file is no attachment
    got = message_from_dm(event_envelope(dm), "UBOT")
    assert got is not None and [a.id for a in got.attachments] == ["F1"]
    newer = {**file, "id": "F3", "name": "newer.txt", "created": 200}
    assert recent_attachment([file, newer], since=50) == Attachment("F3", "newer.txt", 1234, "application/epub+zip")
    assert recent_attachment([file], since=150) is None and recent_attachment(None, since=0) is None


def test_a_console_path_becomes_the_commands_attachment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "books").mkdir()
    book = tmp_path / "books" / "kari.txt"
    book.write_bytes(b"text" * 10)
    where = Where(Channel("console", "reading-group"))
    command = Command("1", where, User("u"), "upload", "first draft ~/books/kari.txt")
    got = attach_path(command)
    assert got.text == "first draft" and got.attachments == (Attachment(str(book), "kari.txt", 40, "text/plain"),)
    spaced = tmp_path / "my books.txt"
    spaced.write_text("hi")
    quoted = attach_path(dataclasses.replace(command, text=f'note "{spaced}"'))
    assert quoted.text == "note" and quoted.attachments[0].id == str(spaced)
    missing = dataclasses.replace(command, text="see ~/books/nothing.txt")
    assert attach_path(missing) == missing  # not an existing path: the text stays as typed


# ============================================================================ Slack


@dataclass
class SlackWorld:
    fake: FakeSlackAPI
    app: App
    adapter: SlackAdapter
    uploads: Uploads
    spy: Spy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.http_port}/slack/events"

    async def upload(self, channel: str, text: str = "", user: str = DEFAULT_USER_ID) -> str:
        """Run /upload; the private answer's text."""
        await send_slash_command(self.url, SECRET, "/upload", text, user_id=user, channel_id=channel)
        call = await self.fake.wait_for_call("chat.postEphemeral", in_channel(channel), timeout=20)
        return one_line(str(call.args["text"]))


def new_channel() -> str:
    return f"C{uuid.uuid4().hex[:9].upper()}"


def in_channel(channel: str) -> Callable[[RecordedCall], bool]:
    return lambda call: call.args.get("channel") == channel


def downloads(fake: FakeSlackAPI, file_id: str) -> list[RecordedCall]:
    return [c for c in fake.calls_to("file_download") if c.args["file"] == file_id]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def slack(knowledge_service: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SlackWorld]:
    data_dir = tmp_path_factory.mktemp("slack-files")
    uploads = Uploads()
    spies: list[Spy] = []

    def make(kit: AdapterKit) -> SlackAdapter:
        spies.append(Spy(kit.dispatcher))
        return SlackAdapter(kit.settings, spies[-1], host="127.0.0.1", commands=kit.commands)

    async with FakeSlackAPI() as fake:
        fake.add_user(DEFAULT_USER_ID, "reader")
        env = {
            "READBOT_DATA_DIR": str(data_dir),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_CONFIG": str(data_dir / "none.toml"),
        }
        settings = dataclasses.replace(Settings.from_env(env, dotenv=None), http_port=0)
        async with open_app(
            settings, adapters=[make], knowledge=knowledge_service, extra_features=[uploads.feature()], run_tasks=False
        ) as app:
            uploads.outbox = app.outbox
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter)
            yield SlackWorld(fake, app, adapter, uploads, spies[0])


@aio
async def test_slack_a_file_shared_just_before_the_command_goes_with_it(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake, channel = slack.fake, new_channel()
    content = b"Kari, a novel.\n" * 500
    older = fake.share_file(channel, "old.txt", b"older", created=time.time() - 120)
    shared = fake.share_file(channel, "kari.epub", content, mimetype="application/epub+zip", created=time.time() - 60)
    fake.share_file(channel, "theirs.txt", b"someone else's", user="U0OTHER")  # newer, but not the person's
    assert await slack.upload(channel, "first draft") == said("kari.epub", content)
    command = slack.uploads.last(lambda c: c.where.channel.id == channel)
    assert command.text == "first draft" and command.options == {}
    assert command.attachments == (Attachment(shared.id, "kari.epub", len(content), "application/epub+zip"),)
    (listed,) = [c for c in fake.calls_to("files.list") if in_channel(channel)(c)]
    assert listed.args["user"] == DEFAULT_USER_ID and int(listed.args["count"]) >= 1
    assert float(listed.args["ts_from"]) <= time.time() - 14 * 60  # the last 15 minutes
    (download,) = await fake.wait_for_calls("file_download", 1, lambda c: c.args["file"] == shared.id)
    assert download.headers["Authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}" and download.args["complete"]
    assert not downloads(fake, older.id)
    no_tracebacks(caplog)


@aio
async def test_slack_without_a_recent_file_the_handler_gets_none(slack: SlackWorld) -> None:
    fake, channel = slack.fake, new_channel()
    fake.share_file(channel, "stale.txt", b"from earlier", created=time.time() - 20 * 60)
    fake.share_file(new_channel(), "elsewhere.txt", b"another channel")
    fake.share_file(channel, "theirs.txt", b"someone else's", user="U0OTHER")
    assert await slack.upload(channel, "where is it") == "upload: no file"
    command = slack.uploads.last(lambda c: c.where.channel.id == channel)
    assert command.attachments == () and command.text == "where is it"


@aio
async def test_slack_without_the_files_read_scope_the_command_goes_on_without_a_file(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake, channel = slack.fake, new_channel()
    fake.share_file(channel, "kari.epub", b"epub")
    fake.scopes = DEFAULT_SCOPES.replace("files:read,", "")
    try:
        with caplog.at_level(logging.WARNING, logger="bot.adapters.slack"):
            assert await slack.upload(channel) == "upload: no file"
    finally:
        fake.scopes = DEFAULT_SCOPES
    assert any("missing_scope" in r.getMessage() and "files:read" in r.getMessage() for r in caplog.records)


@aio
async def test_slack_a_mention_with_a_file_carries_it(slack: SlackWorld) -> None:
    fake, channel = slack.fake, new_channel()
    content = b"\x00\x01binary" * 100
    shared = fake.share_file(channel, "notes.pdf", content, mimetype="application/pdf")
    await send_app_mention(slack.url, SECRET, "reading add", channel=channel, files=[fake.file_json(shared)])
    await send_message_event(
        slack.url, SECRET, "in a DM", channel="D0FILES", channel_type="im", files=[fake.file_json(shared)]
    )
    deadline = time.monotonic() + 10
    while len(found := [e for e in slack.spy.events if isinstance(e, Message) and e.attachments]) < 2:
        assert time.monotonic() < deadline, "the mention and the DM did not reach the dispatcher"
        await asyncio.sleep(0.01)
    mention = next(e for e in found if e.where.channel.id == channel)
    assert mention.text == "reading add"
    assert mention.attachments == (Attachment(shared.id, "notes.pdf", len(content), "application/pdf"),)
    assert {e.where.channel.id for e in found} >= {channel, "D0FILES"}
    assert await slack.app.outbox.fetch("slack", mention.attachments[0], limit=LIMIT) == content


@aio
async def test_slack_a_file_over_the_limit_is_refused_before_any_download(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake, channel = slack.fake, new_channel()
    big = fake.share_file(channel, "big.epub", b"b" * 1_500_000)
    assert await slack.upload(channel) == "big.epub is 1.5 MB; the limit is 1 MB."
    assert not downloads(fake, big.id)
    no_tracebacks(caplog)


@aio
async def test_slack_a_lying_size_stops_the_download_one_byte_past_the_limit(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake, channel = slack.fake, new_channel()
    liar = fake.share_file(channel, "liar.epub", bytes(HUGE), size=1000)  # declares 1 KB
    assert await slack.upload(channel) == "liar.epub is larger than 1 MB; the limit is 1 MB."
    (download,) = await fake.wait_for_calls("file_download", 1, lambda c: c.args["file"] == liar.id)
    assert not download.args["complete"] and download.args["sent"] < HUGE  # the bot stopped reading
    no_tracebacks(caplog)


@aio
async def test_slack_a_failed_or_deleted_download_is_one_private_line(
    slack: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    fake = slack.fake
    broken_channel, gone_channel = new_channel(), new_channel()
    broken = fake.share_file(broken_channel, "notes.txt", b"notes")
    fake.fail_download(broken.id, status=500)
    assert await slack.upload(broken_channel) == "I couldn't download notes.txt from Slack: Slack answered HTTP 500."
    (failed,) = await fake.wait_for_calls("file_download", 1, lambda c: c.args["file"] == broken.id)
    assert failed.status == 500
    gone = fake.share_file(gone_channel, "gone.txt", b"soon deleted")
    attachment = Attachment(gone.id, "gone.txt")
    fake.delete_file(gone.id)
    with pytest.raises(FileUnavailable, match=r"^I couldn't download gone\.txt from Slack: the file was deleted"):
        await slack.app.outbox.fetch("slack", attachment, limit=LIMIT)
    no_tracebacks(caplog)


@pytest.mark.asyncio
async def test_slack_never_hands_over_a_sign_in_page_nor_sends_its_token_elsewhere(tmp_path: Path) -> None:
    async with FakeSlackAPI() as fake:
        env = {
            "READBOT_DATA_DIR": str(tmp_path),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
        }
        adapter = SlackAdapter(Settings.from_env(env, dotenv=None), Dispatcher(), host="127.0.0.1")
        file = fake.share_file("C1", "kari.epub", b"epub", mimetype="application/epub+zip")
        attachment = Attachment(file.id, "kari.epub")
        assert await adapter.fetch(attachment, limit=LIMIT) == b"epub"
        info = fake.file_json(file)
        for url, error in (
            (f"{fake.base_url}/signin", "Slack sent its sign-in page instead of the file"),  # what a bad token gets
            ("http://203.0.113.9/kari.epub", "it is a link to a file kept outside Slack"),  # a remote file
        ):
            fake.register("files.info", lambda args, url=url: {"file": {**info, "url_private_download": url}})
            with pytest.raises(FileUnavailable) as raised:
                await adapter.fetch(attachment, limit=LIMIT)
            assert str(raised.value).startswith(f"I couldn't download kari.epub from Slack: {error}")
        assert [c.path for c in fake.calls_to("unrouted")] == []


# ============================================================================ Discord


@dataclass
class DiscordWorld:
    fake: FakeDiscord
    app: App
    uploads: Uploads
    spy: Spy
    calls: list[DiscordCall] = field(default_factory=list)

    async def reply_to(self, ref: Any) -> str:
        """The text of the private answer to an interaction (the first response, or the follow-up)."""
        callback = await self.fake.wait_for_interaction_response(ref, timeout=20)
        body = callback.json
        if body["type"] == 5:  # deferred: the answer is a follow-up
            followup = await self.fake.wait_for_call(
                lambda c: c.method == "POST" and c.path == f"/webhooks/{self.fake.application_id}/{ref.token}",
                timeout=20,
            )
            body = {"data": followup.json}
        assert body["data"]["flags"] & EPHEMERAL
        return one_line(str(body["data"]["content"]))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def discord_world(
    knowledge_service: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DiscordWorld]:
    fake = FakeDiscord(DISCORD_TOKEN)
    await fake.start()
    data_dir = tmp_path_factory.mktemp("discord-files")
    env = {
        "READBOT_DATA_DIR": str(data_dir),
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "READBOT_CONFIG": str(data_dir / "none.toml"),
    }
    uploads = Uploads()
    spies: list[Spy] = []

    def make(kit: AdapterKit) -> DiscordAdapter:
        spies.append(Spy(kit.dispatcher))
        return DiscordAdapter(kit.settings, spies[-1], commands=kit.commands, state=kit.state, guild_ready_timeout=0.1)

    try:
        async with open_app(
            Settings.from_env(env, dotenv=None),
            adapters=[make],
            knowledge=knowledge_service,
            extra_features=[uploads.feature()],
            run_tasks=False,
        ) as app:
            uploads.outbox = app.outbox
            yield DiscordWorld(fake, app, uploads, spies[0])
    finally:
        await fake.stop()


@aio
async def test_discord_a_file_option_is_registered_as_an_attachment_option(discord_world: DiscordWorld) -> None:
    fake = discord_world.fake
    put = await fake.wait_for_call(
        lambda c: c.method == "PUT" and c.path == f"/applications/{fake.application_id}/commands"
    )
    (upload,) = [c for c in put.json if c["name"] == "upload"]
    types = {o["name"]: (o["type"], o.get("required", False)) for o in upload["options"]}
    assert types == {"note": (3, False), "file": (11, False)}  # a string and an ATTACHMENT
    ask = next(c for c in put.json if c["name"] == "ask")
    assert [o["type"] for o in ask["options"]] == [3, 3]  # text options stay strings (question, private)


@aio
async def test_discord_an_attachment_option_reaches_the_handler(
    discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world, fake = discord_world, discord_world.fake
    content = b"%PDF-1.7 a reading" * 300
    file = FakeAttachment("kari.pdf", content, content_type="application/pdf")
    ref = await fake.send_slash_command("upload", {"note": "first draft"}, attachments={"file": file})
    assert await world.reply_to(ref) == said("kari.pdf", content)
    command = world.uploads.last(lambda c: c.event_id == str(ref.id))
    assert command.options == {"note": "first draft"} and command.text == "first draft"  # the file is no option
    (attachment,) = command.attachments
    assert (attachment.name, attachment.size, attachment.content_type) == ("kari.pdf", len(content), "application/pdf")
    assert "hm=" in attachment.id  # the signed URL, kept whole
    download = await fake.wait_for_download(lambda c: c.path.endswith("/kari.pdf"))
    assert download.status == 200 and download.response["complete"]

    bare = await fake.send_slash_command("upload", {"note": "nothing attached"})
    assert await world.reply_to(bare) == "upload: no file"
    no_tracebacks(caplog)


@aio
async def test_discord_a_mention_with_a_file_carries_it(discord_world: DiscordWorld) -> None:
    world, fake = discord_world, discord_world.fake
    sent = await fake.send_message(
        fake.general_id, "reading add", mentions_bot=True, attachments=[("kari.txt", b"text")]
    )
    deadline = time.monotonic() + 10
    while not (found := [e for e in world.spy.events if isinstance(e, Message) and e.event_id == sent["id"]]):
        assert time.monotonic() < deadline, "the mention did not reach the dispatcher"
        await asyncio.sleep(0.01)
    (attachment,) = found[0].attachments
    assert (attachment.name, attachment.size) == ("kari.txt", 4)
    assert await world.app.outbox.fetch("discord", attachment, limit=LIMIT) == b"text"


@aio
async def test_discord_files_over_the_limit_or_lying_are_refused(
    discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world, fake = discord_world, discord_world.fake
    big = await fake.send_slash_command("upload", attachments={"file": FakeAttachment("big.epub", b"b" * 1_500_000)})
    assert await world.reply_to(big) == "big.epub is 1.5 MB; the limit is 1 MB."
    assert not [c for c in fake.downloads if c.path.endswith("/big.epub")]  # not fetched at all

    liar = FakeAttachment("liar.epub", bytes(HUGE), size=1000)
    lying = await fake.send_slash_command("upload", attachments={"file": liar})
    assert await world.reply_to(lying) == "liar.epub is larger than 1 MB; the limit is 1 MB."
    download = await fake.wait_for_download(lambda c: c.path.endswith("/liar.epub"))
    assert not download.response["complete"] and download.response["sent"] < HUGE
    no_tracebacks(caplog)


@aio
async def test_discord_a_failed_download_is_one_private_line(
    discord_world: DiscordWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world, fake = discord_world, discord_world.fake
    fake.fail_download("notes.txt", status=500)
    failed = await fake.send_slash_command("upload", attachments={"file": FakeAttachment("notes.txt", b"notes")})
    assert await world.reply_to(failed) == "I couldn't download notes.txt from Discord: Discord answered HTTP 500."
    fake.fail_download("old.txt", status=404)
    expired = await fake.send_slash_command("upload", attachments={"file": FakeAttachment("old.txt", b"old")})
    assert await world.reply_to(expired) == (
        "I couldn't download old.txt from Discord: Discord answered HTTP 404 "
        "(the link expired or the file was deleted; attach it again)."
    )
    (attachment,) = world.uploads.last(lambda c: c.event_id == str(expired.id)).attachments
    unsigned = dataclasses.replace(attachment, id=attachment.id.split("?")[0])  # the CDN wants its signature
    with pytest.raises(FileUnavailable, match="HTTP 404"):
        await world.app.outbox.fetch("discord", unsigned, limit=LIMIT)
    no_tracebacks(caplog)


# ============================================================================ console


@pytest_asyncio.fixture
async def console(knowledge_service: Any, tmp_path: Path) -> AsyncIterator[tuple[ConsoleAdapter, Uploads, io.StringIO]]:
    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path / "data")}, dotenv=None)
    out = io.StringIO()
    uploads = Uploads()

    def make(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=User("member-1", "Member"), commands=kit.commands)

    async with open_app(
        settings, adapters=[make], knowledge=knowledge_service, extra_features=[uploads.feature()], run_tasks=False
    ) as app:
        uploads.outbox = app.outbox
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)
        yield adapter, uploads, out


def last_reply(adapter: ConsoleAdapter) -> str:
    _, reply = adapter.posted[-1]
    assert reply.visibility is Visibility.PRIVATE
    return one_line(reply.text)


@pytest.mark.asyncio
async def test_console_a_path_typed_last_is_uploaded(
    console: tuple[ConsoleAdapter, Uploads, io.StringIO],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter, uploads, out = console
    monkeypatch.setenv("HOME", str(tmp_path))
    book = tmp_path / "kari.epub"
    book.write_bytes(b"an epub" * 1000)
    await adapter.handle_line("/upload first draft ~/kari.epub")
    assert last_reply(adapter) == said("kari.epub", book.read_bytes())
    assert uploads.seen[-1].text == "first draft" and uploads.seen[-1].attachments[0].id == str(book)

    await adapter.handle_line("/upload ~/no-such.epub")  # not a path that exists: no attachment
    assert last_reply(adapter) == "upload: no file" and uploads.seen[-1].text == "~/no-such.epub"

    (tmp_path / "big.epub").write_bytes(b"b" * 1_500_000)
    await adapter.handle_line(f"/upload {tmp_path / 'big.epub'}")
    assert last_reply(adapter) == "big.epub is 1.5 MB; the limit is 1 MB."
    await adapter.handle_line("/upload /dev/zero")  # declares no size and never ends: the read stops
    assert last_reply(adapter) == "zero is larger than 1 MB; the limit is 1 MB."
    (tmp_path / "books").mkdir()
    await adapter.handle_line("/upload ~/books")
    assert last_reply(adapter) == "I couldn't read books: Is a directory."
    assert "Traceback" not in out.getvalue()
    no_tracebacks(caplog)


@pytest.mark.asyncio
async def test_console_built_without_the_declarations_takes_no_paths(tmp_path: Path) -> None:
    """The old signature still works: without ``commands`` a path stays text."""
    (tmp_path / "a.txt").write_text("a")
    uploads, outbox = Uploads(), Outbox()
    uploads.outbox = outbox
    adapter = ConsoleAdapter(Dispatcher(Routes.of([uploads.feature()])), io.StringIO())
    outbox.register(adapter)
    await adapter.handle_line(f"/upload {tmp_path / 'a.txt'}")
    assert last_reply(adapter) == "upload: no file" and uploads.seen[-1].text == str(tmp_path / "a.txt")
