"""Degrade, don't go silent: readbot without its database.

End to end through slack-bolt and the fake Slack (as in ``tests/test_outbox.py``), with the database
taken away for real:

* PostgreSQL behind a small asyncio TCP proxy that the test closes (live connections cut, new ones
  refused) and opens again;
* SQLite in a data dir on a small tmpfs that the test fills to the last byte, then frees.

While the database is away a question is still answered, a vote and a command get the one retry
line, ``/readyz`` is 503 naming the database; once it is back everything works again by itself
within 30 seconds, nothing restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.core.dispatcher import CANT_RECORD
from tests.fakes.slack_server import new_ts, send_app_mention
from tests.polls_support import postgres_url
from tests.test_outbox import CHANNEL, MOD, SECRET, START, VOTERS, Bot, buttons_of, running, slack_fake

pytestmark = pytest.mark.asyncio
RECOVERY = 30.0  # seconds readbot may take to work again once the database is back
QUESTION = "What does Ilya say about emotions and value functions?"


class TcpProxy:
    """127.0.0.1:<port> → ``target``; :meth:`close` cuts every connection and stops listening,
    :meth:`open` listens again on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def answered(bot: Bot, user: str) -> str:
    """A question in the channel; the answer posted in its thread."""
    ts = new_ts()
    sent = await send_app_mention(bot.url, SECRET, QUESTION, channel=CHANNEL, user=user, ts=ts)
    assert sent.status == 200
    call = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("thread_ts") == ts, timeout=60)
    return str(call.args["text"])


async def vote_reply(bot: Bot, button: dict[str, Any], user: str, card_ts: str) -> str:
    before = len([c for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == user])
    await bot.click(button, user, card_ts)
    return (await bot.private_to(user, before + 1))[-1]


async def poll_reply(bot: Bot, text: str) -> str:
    before = len([c for c in bot.fake.calls_to("chat.postEphemeral") if c.args.get("user") == MOD])
    await bot.command(text)
    return (await bot.private_to(MOD, before + 1))[-1]


async def within(seconds: float, attempt: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until ``attempt()`` is True (tried every 0.5 s), failing after ``seconds``."""
    started = time.monotonic()
    while not await attempt():
        assert time.monotonic() - started < seconds, f"not recovered within {seconds:g}s"
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def degraded_then_recovered(
    bot: Bot, take_away: Callable[[], Awaitable[None]], give_back: Callable[[], Awaitable[None]], names: str
) -> float:
    await bot.command("Reading groups should vote more.")
    card = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    ts = card.response["ts"]
    buttons = buttons_of(card)
    assert await vote_reply(bot, buttons[0], VOTERS[0], ts) == "Thanks, your vote “Strongly agree” is counted."

    await take_away()
    assert (await answered(bot, VOTERS[1])).strip()  # answers need no database
    assert await vote_reply(bot, buttons[1], VOTERS[1], ts) == CANT_RECORD
    assert await poll_reply(bot, "Another claim to vote on.") == CANT_RECORD
    status, body = await bot.readyz()
    assert status == 503 and body["failed"] == ["database"] and names in body["checks"]["database"]
    assert (await answered(bot, VOTERS[2])).strip()

    await give_back()

    async def works() -> bool:
        return (await bot.readyz())[0] == 200 and (
            await vote_reply(bot, buttons[1], VOTERS[1], ts)
        ) == "Thanks, your vote “Agree” is counted."

    took = await within(RECOVERY, works)
    assert (await poll_reply(bot, "help")).startswith("Start a poll")
    await bot.settled()
    poll = await bot.app.polls.service.get(buttons[-1]["value"])
    assert poll is not None and (await bot.app.polls.service.tally(poll)).counts[:2] == (1, 1)
    return took


async def test_postgresql_going_away_and_coming_back(
    knowledge_service: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with postgres_url() as url:
        proxy = TcpProxy(("127.0.0.1", 5432))
        await proxy.open()
        proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        assert proxied != url
        async with (
            slack_fake() as fake,
            running(fake, tmp_path, knowledge_service, ManualClock(START), database_url=proxied) as bot,
        ):
            took = await degraded_then_recovered(bot, proxy.close, proxy.open, "failed")
        assert took < RECOVERY
        assert caplog.text.count("de-duplication across processes unavailable") == 1  # logged once
        assert "de-duplication across processes is back" in caplog.text
        await proxy.close()


@contextlib.asynccontextmanager
async def small_tmpfs(path: Path, size: str = "8m") -> AsyncIterator[Path]:
    """A tmpfs of ``size`` at ``path`` (this machine's tests run as root; a failed mount fails the test)."""
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while out.write(b"\0" * size):
                    pass
    return filler


async def test_a_sqlite_data_dir_filling_up_and_freed(knowledge_service: Any, tmp_path: Path) -> None:
    async with small_tmpfs(tmp_path / "data") as data:
        filler = data / "filler"

        async def take_away() -> None:
            await asyncio.to_thread(fill, data)

        async def give_back() -> None:
            filler.unlink()

        async with (
            slack_fake() as fake,
            running(fake, tmp_path, knowledge_service, ManualClock(START), data=data) as bot,
        ):
            took = await degraded_then_recovered(bot, take_away, give_back, "disk full")
        assert took < RECOVERY


async def test_a_read_only_postgresql_fails_readiness_and_counts_as_unavailable(tmp_path: Path) -> None:
    """SELECT 1 passes on a database that takes no writes (a full disk, a read-only standby): the
    readiness probe writes too, and such errors read as "the database is unavailable"."""
    from sqlalchemy import text

    from bot.ops.health import Health
    from bot.store.db import Database, database_url, is_outage

    async with postgres_url() as url:
        db = await Database.open(database_url(url, tmp_path))
        try:
            health = Health([])
            health.watch_database(db)
            assert (await health.checks())["database"] == "ok"
            name = url.rsplit("/", 1)[1]
            async with db.engine.begin() as conn:
                await conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
            await db.engine.dispose()  # new connections get the setting
            state = (await health.checks())["database"]
            assert state.startswith("database write failed: ") and "read-only" in state
            try:
                async with db.engine.begin() as conn:
                    await conn.execute(text("CREATE TABLE nope (x int)"))
            except Exception as exc:
                assert is_outage(exc), repr(exc)
            else:
                raise AssertionError("a read-only database took a write")
            assert not is_outage(ValueError("a bug")) and not is_outage(KeyError("x"))
        finally:
            await db.close()
