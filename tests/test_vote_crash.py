"""Store before acknowledging: ``kill -9`` in a burst of votes loses no acknowledged vote.

Slack never delivers a button click again, so a vote Slack was told about (HTTP 200 to its
request) must already be in the database. ``readbot run --platform slack`` runs as a real
subprocess in HTTP mode against ``tests/fakes/slack_server.FakeSlackAPI``; a burst of signed
clicks from different people is sent, the process gets SIGKILL part way through, and the votes
acknowledged are compared with the votes stored. Then readbot starts again on the same data dir
and takes votes as before.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.polls.service import PollService
from bot.store.db import Database, database_url
from tests.fakes.slack_server import DEFAULT_BOT_TOKEN, FakeSlackAPI, send_block_action, send_slash_command
from tests.test_ops import free_port, wait_ready

SECRET = "readbot-crash-signing-secret"
MOD = "U0MOD"
CHANNEL = "C0CRASH1"
BURST = 80
KILL_AFTER = 25  # acknowledgements seen before the SIGKILL

pytestmark = pytest.mark.asyncio


def start(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--platform", "slack"],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def buttons_of(call: Any) -> list[dict[str, Any]]:
    return [e for b in call.args.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


async def stored_votes(data: Path, poll_id: str) -> dict[str, int]:
    db = await Database.open(database_url("", data), migrate=False)
    try:
        service = PollService(db, b"unused")
        poll = await service.get(poll_id)
        assert poll is not None
        return {voter: option for voter, option, _ in await service.votes_of(poll)}
    finally:
        await db.close()


async def test_kill_9_during_a_vote_burst_loses_no_acknowledged_vote(cli_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/slack/events"
    data = tmp_path / "data"
    log = tmp_path / "readbot.log"
    voters = [f"U0BURST{n:03d}" for n in range(BURST)]
    async with FakeSlackAPI() as fake:
        for user in (MOD, *voters, "U0LATER"):
            fake.add_user(user, user.lower())
        env = {
            **cli_env,
            "READBOT_DATA_DIR": str(data),
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_HTTP_PORT": str(port),
            "READBOT_POLL_SECRET": "crash-poll-secret",
            "READBOT_MODERATORS": MOD,
            "READBOT_CONFIG": str(tmp_path / "none.toml"),
        }
        proc = start(env, tmp_path, log)
        try:
            await wait_ready(base, proc, log)
            sent = await send_slash_command(
                url, SECRET, "/poll", "Scaling alone won't get us there. anonymous=off", user_id=MOD, channel_id=CHANNEL
            )
            assert sent.status == 200
            card = await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL, timeout=60)
            buttons = buttons_of(card)
            poll_id = buttons[-1]["value"]

            acked: dict[str, int] = {}
            enough = asyncio.Event()

            async def click(n: int, user: str) -> None:
                button = buttons[n % 5]
                try:
                    resp = await send_block_action(
                        url,
                        SECRET,
                        button["action_id"],
                        button["value"],
                        user_id=user,
                        channel_id=CHANNEL,
                        message_ts=card.response["ts"],
                    )
                except (aiohttp.ClientError, OSError, TimeoutError):
                    return  # the process died before it answered: not acknowledged
                if resp.status == 200:
                    acked[user] = n % 5
                    if len(acked) >= KILL_AFTER:
                        enough.set()

            burst = [asyncio.ensure_future(click(n, user)) for n, user in enumerate(voters)]
            await asyncio.wait_for(enough.wait(), timeout=120)
            os.kill(proc.pid, signal.SIGKILL)
            await asyncio.gather(*burst)
            proc.wait(timeout=30)
            assert proc.returncode == -signal.SIGKILL
            assert KILL_AFTER <= len(acked) < BURST  # killed part way through
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

        stored = await stored_votes(data, poll_id)
        missing = {user: option for user, option in acked.items() if stored.get(user) != option}
        assert missing == {}, f"{len(missing)} of {len(acked)} acknowledged votes were not stored"

        # readbot starts again on the same data dir: the poll is there, votes are taken as before
        again = start(env, tmp_path, log)
        try:
            await wait_ready(base, again, log)
            resp = await send_block_action(
                url,
                SECRET,
                buttons[1]["action_id"],
                buttons[1]["value"],
                user_id="U0LATER",
                channel_id=CHANNEL,
                message_ts=card.response["ts"],
            )
            assert resp.status == 200
            call = await fake.wait_for_call("chat.postEphemeral", lambda c: c.args.get("user") == "U0LATER", timeout=60)
            assert call.args["text"] == "Thanks, your vote “Agree” is counted."
        finally:
            again.send_signal(signal.SIGTERM)
            again.wait(timeout=60)
        after = await stored_votes(data, poll_id)
        assert after.get("U0LATER") == 1 and all(after.get(u) == o for u, o in acked.items())
