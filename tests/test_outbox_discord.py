"""The durable outbox on Discord: a poll's final card and results through a 503 and a 429.

The real discord.py client against ``tests/fakes/discord_server.FakeDiscord`` with injected REST
errors (``FakeDiscord.fail``): a 503 on the card edit (discord.py hands it over at once) and a 429
with ``Retry-After`` from in front of the API (no ``Via`` header: discord.py raises it instead of
sleeping). Time is a ManualClock; the outbox's retries run by ``app.deliveries.flush()``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App, open_app
from bot.clock import ManualClock
from bot.settings import Settings
from bot.store.outbox import backoff
from tests.fakes.discord_server import FakeDiscord
from tests.test_discord_polls import (
    START,
    TOKEN,
    buttons,
    discord_adapter,
    path_is,
    poll_id_of,
    posted_poll,
    private_answer,
    start_poll,
)

pytestmark = pytest.mark.asyncio


@contextlib.asynccontextmanager
async def discord_app(fake: FakeDiscord, tmp_path: Path, knowledge: Any, clock: ManualClock) -> AsyncIterator[App]:
    """The app on the real discord.py client against ``fake`` (started here), on a manual clock."""
    await fake.start()
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(tmp_path / "data"),
            "DISCORD_TOKEN": TOKEN,
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "READBOT_CONFIG": str(tmp_path / "none.toml"),
        },
        dotenv=None,
    )
    async with open_app(settings, adapters=[discord_adapter], knowledge=knowledge, clock=clock, run_tasks=False) as app:
        yield app


async def test_a_503_and_a_429_while_a_poll_closes_on_discord(knowledge_service: Any, tmp_path: Path) -> None:
    fake = FakeDiscord(TOKEN)
    bob = fake.add_member("bob")
    channel = fake.add_text_channel("polls-outbox")
    clock = ManualClock(START)
    try:
        async with discord_app(fake, tmp_path, knowledge_service, clock) as app:
            card = await start_poll(fake, {"claim": "Labs should publish their safety research."}, channel)
            poll = await posted_poll(app, card)
            click = await fake.click_button(int(card["id"]), f"poll:vote|{poll.id}:1", user=bob)
            assert (await private_answer(fake, click))["content"] == "Thanks, your vote “Agree” is counted."
            await app.polls.live.drain()

            edit = rf"/channels/{channel}/messages/{card['id']}"
            post = rf"/channels/{channel}/messages"
            fake.fail("PATCH", edit, status=503)
            fake.fail("POST", post, status=429, retry_after=12)
            since = len(fake.calls)
            close = await fake.click_button(int(card["id"]), f"poll:close|{poll_id_of(card)}", user=fake.moderator_id)
            assert (await private_answer(fake, close))["content"] == (
                "Poll closed. Discord didn't take the results (or the final card) just now; "
                "I'll keep trying until it does."
            )
            assert [c.status for c in fake.calls[since:] if path_is("PATCH", edit)(c)] == [503]
            assert [c.status for c in fake.calls[since:] if path_is("POST", post)(c)] == [429]

            clock.advance(seconds=backoff(1))
            assert await app.deliveries.flush() == 1  # the card; the results wait for Discord's 12 s
            final = [c for c in fake.calls[since:] if path_is("PATCH", edit)(c)][-1]
            assert final.status == 200 and final.json["components"] == []
            clock.advance(seconds=10)
            assert await app.deliveries.flush() == 0
            clock.advance(seconds=1)
            assert await app.deliveries.flush() == 1
            (upload,) = [c for c in fake.calls[since:] if path_is("POST", post)(c) and c.status == 200]
            assert upload.files[0]["data"].startswith(b"\x89PNG") and "Results: “" in upload.json["content"]
            assert "Agree: 1 (100%)" in upload.json["content"]
            assert buttons(fake.messages[int(card["id"])]) == []
    finally:
        await fake.stop()


async def test_an_answer_discord_refuses_is_owed_and_posted_in_its_thread(
    knowledge_service: Any, tmp_path: Path
) -> None:
    """A mention's answer that Discord refuses (a 503 on the post in its thread) is not apologised for
    and not lost: the outbox posts it there once Discord takes it."""
    fake = FakeDiscord(TOKEN)
    clock = ManualClock(START)
    try:
        async with discord_app(fake, tmp_path, knowledge_service, clock) as app:
            fake.fail("POST", r"/channels/\d+/messages", status=503)  # the answer's first post
            question = await fake.send_message(
                fake.general_id, "What does Ilya say about vibe coding?", mentions_bot=True
            )
            thread = int(question["id"])  # the thread started from the question
            refused = await fake.wait_for_call(path_is("POST", f"/channels/{thread}/messages"), timeout=60)
            assert refused.status == 503
            for _ in range(100):  # the handler hands the answer to the outbox
                if (await app.deliveries.backlog()).pending:
                    break
                await asyncio.sleep(0.05)
            assert (await app.deliveries.backlog()).pending == 1
            mine = [m for m in fake.messages_in(thread) + fake.messages_in(fake.general_id)]
            assert not [m for m in mine if m["author"]["id"] == str(fake.bot_user_id)]  # no apology either

            clock.advance(seconds=backoff(1))
            assert await app.deliveries.flush() == 1
            (answer,) = [m for m in fake.messages_in(thread) if m["author"]["id"] == str(fake.bot_user_id)]
            assert "vibe" in (answer["content"] + str(answer.get("embeds"))).lower()
            assert (await app.deliveries.backlog()).pending == 0
    finally:
        await fake.stop()
