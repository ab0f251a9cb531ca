"""Poll clicks checked against their poll, on Slack and Discord, through the real clients.

A click carries its poll's id in the button's value; anyone can forge one. A vote or a Close must come
from the poll's own channel (and its own card, where the click says which message it was on), and a
vote's option must be ASCII digits naming one of the poll's options (not ``²``, not a fullwidth ``１``).
Anything else is answered privately with "That isn't one of this poll's options.", counts nothing,
closes nothing, and logs no error. (Discord delivers only custom ids a message really has, so there the
forged values ride on messages posted with them.) The fixtures are the poll suites' own (``tests/test_slack_polls.py``,
``tests/test_discord_polls.py``): readbot opened as ``readbot run`` opens it, against the fake servers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.core.events import Button, Channel, Reply, Where
from bot.polls.handlers import NOT_AN_OPTION
from tests import test_discord_polls as discord_polls
from tests import test_slack_polls as slack_polls
from tests.fakes.slack_server import new_ts, send_block_action
from tests.test_discord_polls import World, private_answer, start_poll, world  # noqa: F401 (the fixture)
from tests.test_slack_polls import CHANNEL, CLAIM, MEMBER, MOD, Bot, bot  # noqa: F401 (the fixture)

OTHER = "C0POLLS02"
GONE = "This poll no longer exists."
# (the option part of a vote's value, what the voter is told)
BAD_OPTIONS = [
    ("²", NOT_AN_OPTION),  # superscript two: str.isdigit() says yes, int() says no
    ("１", NOT_AN_OPTION),  # fullwidth one: int() would read it as 1
    ("٣", NOT_AN_OPTION),  # Arabic-Indic three
    ("9", NOT_AN_OPTION),  # out of range
    ("-1", NOT_AN_OPTION),
    ("1.0", NOT_AN_OPTION),
    (" 1", NOT_AN_OPTION),
    ("", NOT_AN_OPTION),
    ("99999999999999999999", NOT_AN_OPTION),
]


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(logging.WARNING)
    logging.getLogger().addHandler(handler)
    yield records
    logging.getLogger().removeHandler(handler)


def no_errors(records: list[logging.LogRecord]) -> None:
    bad = [r for r in records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [r.getMessage() for r in bad]


# =========================================================================== Slack


async def slack_poll(bot: Bot, channel: str) -> tuple[str, str]:  # noqa: F811
    """A moderator's poll in ``channel``: (its id, its card's ts)."""
    before = len([c for c in bot.fake.calls_to("chat.postMessage") if c.args.get("channel") == channel])
    await bot.command(CLAIM, user=MOD, channel=channel)
    calls = await bot.fake.wait_for_calls("chat.postMessage", before + 1, lambda c: c.args.get("channel") == channel)
    card = calls[-1]
    close = [b for b in slack_polls.buttons_of(card) if b["action_id"].startswith("poll:close")]
    return close[0]["value"], card.response["ts"]


@pytest.mark.asyncio
async def test_slack_clicks_are_checked_against_their_poll(bot: Bot, log_records: list[logging.LogRecord]) -> None:  # noqa: F811
    here, here_ts = await slack_poll(bot, CHANNEL)
    there, there_ts = await slack_poll(bot, OTHER)
    told: list[tuple[str, str]] = []

    async def click(action: str, value: str, user: str, channel: str, ts: str) -> str:
        resp = await send_block_action(
            bot.url, slack_polls.SECRET, action, value, user_id=user, channel_id=channel, message_ts=ts
        )
        assert resp.status == 200
        told.append((user, channel))
        mine = [t for t in told if t == (user, channel)]
        calls = await bot.fake.wait_for_calls("chat.postEphemeral", len(mine), slack_polls.to(user, channel))
        return str(calls[-1].args["text"])

    # a vote and a Close in this channel naming the other channel's poll; the other poll's id on a
    # message of its channel that isn't its card
    assert await click("poll:vote#2", f"{there}:1", MEMBER, CHANNEL, here_ts) == NOT_AN_OPTION
    assert await click("poll:close", there, MOD, CHANNEL, here_ts) == NOT_AN_OPTION
    assert await click("poll:vote#2", f"{there}:1", MEMBER, OTHER, new_ts()) == NOT_AN_OPTION
    for option, says in BAD_OPTIONS:
        assert await click("poll:vote#1", f"{here}:{option}", MEMBER, CHANNEL, here_ts) == says, option
    for value in ("junk", f":{1}", f"{here}", "../../etc:1"):
        assert await click("poll:vote#1", value, MEMBER, CHANNEL, here_ts) in (NOT_AN_OPTION, GONE), value
    assert await click("poll:vote#1", "0123456789ab:1", MEMBER, CHANNEL, here_ts) == GONE
    await bot.settled()
    service = bot.app.polls.service
    for poll_id in (here, there):
        poll = await service.get(poll_id)
        assert poll is not None and poll.is_open
        assert (await service.tally(poll)).voters == 0
    # the real thing still works: a vote on its own card, a Close in its own channel
    assert await click("poll:vote#2", f"{here}:1", MEMBER, CHANNEL, here_ts) == "Thanks, your vote “Agree” is counted."
    assert await click("poll:close", there, MOD, OTHER, there_ts) == "Poll closed; results are posted."
    no_errors(log_records)


# =========================================================================== Discord


@discord_polls.aio
async def test_discord_clicks_are_checked_against_their_poll(
    world: World,  # noqa: F811
    log_records: list[logging.LogRecord],
) -> None:
    fake, app = world.fake, world.app
    here_channel, there_channel = world.close_channel, world.restart_channel
    here_card = await start_poll(fake, {"claim": discord_polls.MERGE}, here_channel)
    there_card = await start_poll(fake, {"claim": discord_polls.MERGE}, there_channel)
    here = (await discord_polls.posted_poll(app, here_card)).id
    there = (await discord_polls.posted_poll(app, there_card)).id

    async def click(message_id: int, custom_id: str, user: int) -> str:
        ref = await fake.click_button(message_id, custom_id, user=user)
        return str((await private_answer(fake, ref))["content"])

    # a message in this channel carrying the other poll's buttons; one in the other channel that
    # isn't the other poll's card
    forged_here = await world.adapter.send(
        Where(Channel("discord", str(here_channel))),
        Reply("Vote!", buttons=(Button("Agree", "poll:vote", f"{there}:1"), Button("Close", "poll:close", there))),
    )
    forged_there = await world.adapter.send(
        Where(Channel("discord", str(there_channel))),
        Reply("Vote!", buttons=(Button("Agree", "poll:vote", f"{there}:1"),)),
    )
    assert await click(int(forged_here.message_id), f"poll:vote|{there}:1", fake.member_id) == NOT_AN_OPTION
    assert await click(int(forged_here.message_id), f"poll:close|{there}", fake.moderator_id) == NOT_AN_OPTION
    assert await click(int(forged_there.message_id), f"poll:vote|{there}:1", fake.member_id) == NOT_AN_OPTION
    # Discord only delivers custom ids a message has: each bad value on a message of its own
    for option, says in BAD_OPTIONS:
        if len(f"poll:vote|{here}:{option}") > 100:  # longer than Discord allows a custom id
            continue
        sent = await world.adapter.send(
            Where(Channel("discord", str(here_channel))),
            Reply("Vote!", buttons=(Button("Odd", "poll:vote", f"{here}:{option}"),)),
        )
        assert await click(int(sent.message_id), f"poll:vote|{here}:{option}", fake.member_id) == says, option
    service = app.polls.service
    for poll_id in (here, there):
        poll = await service.get(poll_id)
        assert poll is not None and poll.is_open
        assert (await service.tally(poll)).voters == 0
    vote = await click(int(here_card["id"]), f"poll:vote|{here}:1", fake.member_id)
    assert vote == "Thanks, your vote “Agree” is counted."
    closed = await click(int(there_card["id"]), f"poll:close|{there}", fake.moderator_id)
    assert closed == "Poll closed; results are posted."
    await app.polls.live.drain()
    no_errors(log_records)
