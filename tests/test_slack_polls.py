"""Polls on Slack: the modal for /poll, the poll card's buttons, deadlines and results.

Pure tests first (a Form → a modal view, a view_submission → FormSubmitted, a poll card
→ blocks), then end to end: readbot opened as ``readbot run`` opens it (``open_app``: the
database, the features, the adapter built from the kit and registered in ``app.outbox``), the
real slack-bolt adapter in this event loop, and ``tests/fakes/slack_server.FakeSlackAPI`` playing
Slack. Time is a ManualClock: deadlines pass by ``clock.advance`` + ``app.polls.close_due()``
(``run_tasks=False``: no deadline watcher of its own), never by sleeping. Each test gets its own
fake, database and adapter; the knowledge service is the session's (polls don't use it, and it
is indexed once per test run).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.slack.adapter import SlackAdapter
from bot.adapters.slack.render import MAX_OPTIONS, OPTION_TEXT_LIMIT, form_metadata, modal_view, render
from bot.adapters.slack.translate import action_of, click_from_payload, submission_from_payload, where_from_metadata
from bot.app import AdapterKit, App, open_app
from bot.clock import ManualClock
from bot.core.events import Channel, Form, FormField, FormSubmitted, User, Where
from bot.polls import render as poll_render
from bot.polls.handlers import NEW_POLL_FORM
from bot.polls.model import SCALE, Poll, Tally
from bot.settings import Settings
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    RecordedCall,
    send_block_action,
    send_slash_command,
    send_view_submission,
)

SECRET = "readbot-polls-signing-secret"
START = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
CLAIM = "Humans should merge with AI to keep their agency."
CHANNEL = "C0POLLS01"
MOD, ADMIN, MEMBER = "U0MOD", "U0ADMIN", "U0MEMBER"
VOTERS = ("U0VOTER1", "U0VOTER2", "U0VOTER3")
PNG = b"\x89PNG"

e2e = pytest.mark.asyncio


# ============================================================================ pure: forms


def new_poll_like_form(claims: int = 3) -> Form:
    """The shape PollHandler opens for /poll (see bot/polls/handlers.py)."""
    choices = tuple((f"claim-{i}", f"Claim number {i} " + "x" * 100) for i in range(claims))
    return Form(
        NEW_POLL_FORM,
        "New poll",
        "Start poll",
        (
            FormField("claim_id", "Claim from the reading", "select", choices, default="claim-1"),
            FormField("claim", "…or write your own claim", hint="Leave empty to use the claim above.", max_length=300),
            FormField("options", "Options (2 to 5, one per line)", multiline=True, max_length=400),
            FormField("duration", "Duration", default="60m", max_length=10, optional=False, hint="Minutes (30)"),
            FormField("anonymous", "Anonymous", "toggle", default="on"),
            FormField("hidden", "Hide results until the poll closes", "toggle", default="off"),
        ),
    )


def test_form_renders_as_a_modal_whose_blocks_are_the_fields() -> None:
    where = Where(Channel("slack", "C1", "general"), thread_id="1.000200")
    view = modal_view(new_poll_like_form(), where)
    assert (view["type"], view["callback_id"]) == ("modal", NEW_POLL_FORM)
    assert view["title"]["text"] == "New poll" and view["submit"]["text"] == "Start poll"
    assert where_from_metadata(view["private_metadata"]) == where
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert list(blocks) == ["claim_id", "claim", "options", "duration", "anonymous", "hidden"]
    assert all(b["type"] == "input" and b["element"]["action_id"] == b["block_id"] for b in view["blocks"])

    select = blocks["claim_id"]["element"]
    assert select["type"] == "static_select" and len(select["options"]) == 3
    assert all(len(o["text"]["text"]) <= OPTION_TEXT_LIMIT for o in select["options"])
    assert select["initial_option"] == select["options"][1] and select["initial_option"]["value"] == "claim-1"

    own, options, duration = (blocks[k] for k in ("claim", "options", "duration"))
    assert own["optional"] is True and own["hint"]["text"] == "Leave empty to use the claim above."
    assert own["element"] == {"type": "plain_text_input", "action_id": "claim", "max_length": 300, "multiline": False}
    assert options["element"]["multiline"] is True and options["element"]["max_length"] == 400
    assert duration["optional"] is False and duration["element"]["initial_value"] == "60m"

    for name, initial in (("anonymous", "on"), ("hidden", "off")):
        toggle = blocks[name]
        assert toggle["optional"] is False  # On/Off always holds a value
        assert [o["value"] for o in toggle["element"]["options"]] == ["on", "off"]
        assert toggle["element"]["initial_option"]["value"] == initial


def test_modal_respects_slack_limits() -> None:
    many = modal_view(new_poll_like_form(claims=130), Where(Channel("slack", "C1")))
    assert len(many["blocks"][0]["element"]["options"]) == MAX_OPTIONS
    title = Form(
        "x:y",
        "A title far longer than twenty-four characters",
        "Go",
        (
            FormField("f", "<!channel> label", hint="@everyone hint"),
            FormField("empty", "No choices", "select", default="d"),
            FormField("long", "Long default", default="d" * 50, max_length=10),
        ),
    )
    view = modal_view(title, Where(Channel("slack", "C1")))
    assert len(view["title"]["text"]) <= 24
    assert "<!channel>" not in json.dumps(view) and "@everyone" not in json.dumps(view)
    assert view["blocks"][1]["element"]["type"] == "plain_text_input"  # a select needs ≥ 1 option
    assert view["blocks"][2]["element"]["initial_value"] == "d" * 10
    with pytest.raises(ValueError, match="unique"):
        modal_view(Form("x", "t", "s", (FormField("a", "A"), FormField("a", "B"))), Where(Channel("slack", "C")))
    with pytest.raises(ValueError, match="150"):
        modal_view(
            Form("x", "t", "s", (FormField("a", "A", "select", (("v" * 151, "V"),)),)), Where(Channel("slack", "C"))
        )


def submission(values: dict[str, Any], *, metadata: str | None = None, **extra: Any) -> dict[str, Any]:
    where = Where(Channel("slack", "C1", "general"), thread_id="5.5")
    return {
        "type": "view_submission",
        "trigger_id": "77.88",
        "user": {"id": "U1", "username": "ann"},
        "view": {
            "id": "V1",
            "hash": "h1",
            "callback_id": NEW_POLL_FORM,
            "private_metadata": form_metadata(where) if metadata is None else metadata,
            "state": {"values": values},
        },
        **extra,
    }


def test_view_submission_becomes_form_submitted() -> None:
    values = {
        "claim_id": {"claim_id": {"type": "static_select", "selected_option": {"value": "claim-2"}}},
        "claim": {"claim": {"type": "plain_text_input", "value": None}},
        "options": {"options": {"type": "plain_text_input", "value": "Yes & no\n<b>Maybe</b>"}},
        "anonymous": {"anonymous": {"type": "static_select", "selected_option": {"value": "off"}}},
        "hidden": {"hidden": {"type": "static_select", "selected_option": None}},
        "tags": {"tags": {"type": "checkboxes", "selected_options": [{"value": "a"}, {"value": "b"}]}},
    }
    event = submission_from_payload(submission(values))
    assert event == FormSubmitted(
        event_id="77.88",
        where=Where(Channel("slack", "C1", "general"), thread_id="5.5"),
        user=User("U1", "ann"),
        form_id=NEW_POLL_FORM,
        values={
            "claim_id": "claim-2",
            "claim": "",
            "options": "Yes & no\n<b>Maybe</b>",
            "anonymous": "off",
            "hidden": "",
            "tags": "a,b",
        },
    )
    no_trigger = submission({})
    del no_trigger["trigger_id"]
    assert submission_from_payload(no_trigger).event_id == "V1:h1"  # type: ignore[union-attr]
    # not a form readbot opened (no metadata saying where), or not a submission at all
    assert submission_from_payload(submission({}, metadata="")) is None
    assert submission_from_payload(submission({}, metadata="{not json")) is None
    assert submission_from_payload({**submission({}), "type": "view_closed"}) is None


# ============================================================================ pure: poll card


def a_poll(**changes: Any) -> Poll:
    fields: dict[str, Any] = dict(
        id="abc123def456",
        platform="slack",
        channel_id="C1",
        thread_id=None,
        message_id="9.9",
        claim=CLAIM,
        claim_id=None,
        section="",
        passage="",
        options=SCALE,
        anonymous=True,
        hide_results=False,
        created_by=MOD,
        created_at=START,
        closes_at=START.replace(hour=10),
        closed_at=None,
        status="open",
    )
    fields.update(changes)
    return Poll(**fields)


def test_poll_card_buttons_are_one_actions_block_with_unique_action_ids() -> None:
    poll = a_poll()
    message = render(poll_render.card(poll, Tally((0, 2, 0, 1, 0))))
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert len(actions) == 1 and message.blocks[-1] is actions[0]
    elements = actions[0]["elements"]
    ids = [e["action_id"] for e in elements]
    assert len(set(ids)) == len(ids) == 6
    assert [action_of(i) for i in ids] == ["poll:vote"] * 5 + ["poll:close"]
    assert [e["value"] for e in elements] == [f"{poll.id}:{i}" for i in range(5)] + [poll.id]
    assert [e["text"]["text"] for e in elements] == [*SCALE, "Close poll"]
    assert elements[-1]["style"] == "danger"
    # a click on the fourth button reads back as the neutral action and value
    click = click_from_payload(
        {
            "type": "block_actions",
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "container": {"message_ts": "9.9"},
            "actions": [elements[3]],
        }
    )
    assert click is not None and (click.action, click.value) == ("poll:vote", f"{poll.id}:3")
    assert "Agree: 2 (67%)" in message.text and "3 voters" in message.text
    closed = render(poll_render.card(a_poll(status="closed", closed_at=START), Tally((0, 2, 0, 1, 0))))
    assert [b["type"] for b in closed.blocks] == ["section"]


# ============================================================================ end to end


@dataclass
class Bot:
    fake: FakeSlackAPI
    app: App
    adapter: SlackAdapter
    clock: ManualClock
    url: str

    async def command(self, text: str, user: str = MOD, channel: str = CHANNEL, **kw: Any) -> None:
        resp = await send_slash_command(self.url, SECRET, "/poll", text, user_id=user, channel_id=channel, **kw)
        assert resp.status == 200 and resp.body == ""  # acked at once, nothing shown by the ack itself

    async def click(self, button: dict[str, Any], user: str, card_ts: str, channel: str = CHANNEL) -> None:
        resp = await send_block_action(
            self.url, SECRET, button["action_id"], button["value"], user_id=user, channel_id=channel, message_ts=card_ts
        )
        assert resp.status == 200

    async def settled(self) -> None:
        """Every event sent so far handled, and the card edits they caused made."""
        await self.adapter.idle()
        await self.app.polls.live.drain()

    def calls(self, method: str, channel: str = CHANNEL) -> list[RecordedCall]:
        return [c for c in self.fake.calls_to(method) if c.args.get("channel") == channel]

    async def private_to(self, user: str, count: int = 1, channel: str = CHANNEL) -> list[str]:
        calls = await self.fake.wait_for_calls("chat.postEphemeral", count, to(user, channel))
        return [c.args["text"] for c in calls]


def to(user: str, channel: str = CHANNEL) -> Callable[[RecordedCall], bool]:
    return lambda c: c.args.get("channel") == channel and c.args.get("user") == user


def buttons_of(call: RecordedCall) -> list[dict[str, Any]]:
    actions = [b for b in call.args.get("blocks") or [] if b["type"] == "actions"]
    return [e for block in actions for e in block["elements"]]


def counts(call: RecordedCall) -> dict[str, int]:
    """{option: votes} from a card's or results' text ("Agree: 2 (67%) ██…")."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^(.+?): (\d+) \(\d+%\)", call.args["text"], re.MULTILINE)}


@pytest_asyncio.fixture
async def bot(knowledge_service: Any, tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeSlackAPI() as fake:
        for user, name in ((MOD, "mona"), (MEMBER, "max"), *((v, v.lower()) for v in VOTERS)):
            fake.add_user(user, name)
        fake.add_user(ADMIN, "ada", is_admin=True)
        settings = Settings.from_env(
            {
                "READBOT_DATA_DIR": str(tmp_path / "data"),
                "READBOT_MODERATORS": MOD,
                "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "READBOT_POLL_SECRET": "test-poll-secret",
                "READBOT_CONFIG": str(tmp_path / "none.toml"),  # no prompt schedules from a readbot.toml in cwd
            },
            dotenv=None,
        )
        settings = dataclasses.replace(settings, http_port=0)  # a free port, picked when listening
        clock = ManualClock(START)

        def slack(kit: AdapterKit) -> SlackAdapter:
            return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1")

        # leaving the block stops the adapter, drains the poll cards, closes the database; the
        # knowledge service handed in is the session's and stays open
        async with open_app(
            settings, adapters=[slack], knowledge=knowledge_service, clock=clock, run_tasks=False
        ) as app:
            assert app.polls.clock is clock and app.tasks == ()
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter)
            yield Bot(fake, app, adapter, clock, f"http://127.0.0.1:{adapter.http_port}/slack/events")


async def start_poll(bot: Bot, text: str = CLAIM, user: str = MOD) -> RecordedCall:
    await bot.command(text, user=user)
    return await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)


@e2e
async def test_poll_lifecycle_votes_live_card_deadline_and_results(bot: Bot) -> None:
    card = await start_poll(bot)
    card_ts = card.response["ts"]
    assert CLAIM in card.args["text"] and "closes 03 Nov 10:00 UTC" in card.args["text"]
    assert counts(card) == dict.fromkeys(SCALE, 0) and "0 voters" in card.args["text"]
    buttons = buttons_of(card)
    assert [action_of(b["action_id"]) for b in buttons] == ["poll:vote"] * 5 + ["poll:close"]
    assert len({b["action_id"] for b in buttons}) == 6
    vote = {b["text"]["text"]: b for b in buttons}
    poll_id = vote["Close poll"]["value"]

    # three people vote; the second changes their mind; the first clicks the same again
    for user, label in (
        (VOTERS[0], "Agree"),
        (VOTERS[1], "Unsure"),
        (VOTERS[2], "Strongly agree"),
        (VOTERS[1], "Agree"),
        (VOTERS[0], "Agree"),
    ):
        before = len([c for c in bot.fake.calls_to("chat.postEphemeral") if to(user)(c)])
        await bot.click(vote[label], user, card_ts)
        await bot.private_to(user, before + 1)
    assert await bot.private_to(VOTERS[0], 2) == [
        "Thanks, your vote “Agree” is counted.",
        "You already voted “Agree”; it's counted.",
    ]
    assert await bot.private_to(VOTERS[1], 2) == [
        "Thanks, your vote “Unsure” is counted.",
        "Vote changed: you now say “Agree”.",
    ]
    await bot.settled()

    updates = bot.calls("chat.update")
    assert 1 <= len(updates) <= 5 and all(u.args["ts"] == card_ts for u in updates)
    live = updates[-1]
    assert counts(live) == {"Strongly agree": 1, "Agree": 2, "Unsure": 0, "Disagree": 0, "Strongly disagree": 0}
    assert "3 voters" in live.args["text"] and len(buttons_of(live)) == 6
    assert len(bot.calls("chat.postMessage")) == 1  # the card is edited, never posted again

    # the deadline passes: the card shows the final tally without buttons, results come with a chart
    bot.clock.advance(minutes=61)
    assert await bot.app.polls.close_due() == 1
    final = bot.calls("chat.update")[-1]
    assert final.args["ts"] == card_ts and buttons_of(final) == []
    assert counts(final) == counts(live) and "closed 03 Nov 10:01 UTC" in final.args["text"]
    posts = bot.calls("chat.postMessage")
    assert len(posts) == 2 and posts[1].args["text"].startswith("Results: “" + CLAIM)
    assert counts(posts[1])["Agree"] == 2 and "3 voters" in posts[1].args["text"]
    assert (
        len([c for c in bot.fake.calls_to("files.completeUploadExternal") if c.args.get("channel_id") == CHANNEL]) == 1
    )  # shared in the poll's channel
    (file,) = bot.fake.files.values()
    assert file.completed and file.content is not None and file.content.startswith(PNG)
    assert file.filename == f"poll-{poll_id}.png"
    assert [c.method for c in bot.fake.calls[-4:]] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]

    # a late click, and one on a poll that never existed
    await bot.click(vote["Disagree"], MEMBER, card_ts)
    assert await bot.private_to(MEMBER) == ["This poll is closed; votes are no longer counted."]
    await bot.click({"action_id": "poll:vote#1", "value": "000000000000:1"}, MEMBER, card_ts)
    assert (await bot.private_to(MEMBER, 2))[1] == "This poll no longer exists."
    await bot.settled()
    assert len(bot.calls("chat.update")) == len(updates) + 1 and len(bot.calls("chat.postMessage")) == 2


@e2e
async def test_only_moderators_start_and_close_polls(bot: Bot) -> None:
    await bot.command(CLAIM, user=MEMBER)
    await bot.command("", user=MEMBER)  # not even the form
    assert await bot.private_to(MEMBER, 2) == ["Only moderators can start polls."] * 2
    await bot.settled()
    assert bot.calls("chat.postMessage") == [] and bot.fake.calls_to("views.open") == []

    card = await start_poll(bot)
    close = buttons_of(card)[-1]
    await bot.click(close, MEMBER, card.response["ts"])
    assert (await bot.private_to(MEMBER, 3))[2] == "Only moderators can close polls."
    await bot.settled()
    poll = await bot.app.polls.service.get(close["value"])
    assert poll is not None and poll.is_open
    assert bot.calls("chat.update") == [] and len(bot.calls("chat.postMessage")) == 1


@e2e
async def test_a_workspace_admin_is_a_moderator(bot: Bot) -> None:
    assert ADMIN not in bot.app.settings.moderators
    card = await start_poll(bot, "Benchmarks overstate how capable today's models are.", user=ADMIN)
    assert "From “The disconnect between model capability" in card.args["text"]  # a claim of the bank
    await bot.click(buttons_of(card)[-1], ADMIN, card.response["ts"])  # Close: is_admin filled for clicks too
    assert await bot.private_to(ADMIN) == ["Poll closed; results are posted."]
    await bot.settled()
    (final,) = bot.calls("chat.update")
    assert buttons_of(final) == [] and "closed 03 Nov 09:00 UTC" in final.args["text"]
    assert bot.calls("chat.postMessage")[-1].args["text"].startswith("Results:")
    assert any(f.content and f.content.startswith(PNG) for f in bot.fake.files.values())
    assert {c.args["user"] for c in bot.fake.calls_to("users.info")} == {ADMIN}


def choose(view: dict[str, Any], block_id: str, value: str) -> dict[str, Any]:
    """The state.values entry Slack sends for picking ``value`` in a select of ``view``."""
    (block,) = [b for b in view["blocks"] if b["block_id"] == block_id]
    (option,) = [o for o in block["element"]["options"] if o["value"] == value]
    return {block_id: {block["element"]["action_id"]: {"type": "static_select", "selected_option": option}}}


def typed(block_id: str, value: str | None) -> dict[str, Any]:
    return {block_id: {block_id: {"type": "plain_text_input", "value": value}}}


@e2e
async def test_poll_without_text_opens_a_modal_whose_submission_posts_the_card(bot: Bot) -> None:
    await bot.command("", trigger_id="1730000000.trigger-one")
    opened = await bot.fake.wait_for_call("views.open")
    assert opened.args["trigger_id"] == "1730000000.trigger-one"
    view = opened.args["view"]
    assert view["callback_id"] == NEW_POLL_FORM and view["type"] == "modal"
    assert json.loads(view["private_metadata"])["channel"] == CHANNEL
    assert [b["block_id"] for b in view["blocks"]] == [
        "claim_id",
        "claim",
        "options",
        "duration",
        "anonymous",
        "hidden",
    ]
    claims = view["blocks"][0]["element"]
    assert claims["type"] == "static_select" and 2 <= len(claims["options"]) <= MAX_OPTIONS
    assert all(len(o["text"]["text"]) <= OPTION_TEXT_LIMIT for o in claims["options"])
    first = claims["initial_option"]["value"]
    assert bot.calls("chat.postMessage") == []  # nothing posted until the form is submitted

    # a bank claim, 30 minutes, names visible (as Slack sends the state of the modal)
    second = claims["options"][1]["value"]
    values = {
        **choose(view, "claim_id", second),
        **typed("claim", None),
        **typed("options", None),
        **typed("duration", "30m"),
        **choose(view, "anonymous", "off"),
        **choose(view, "hidden", "off"),
    }
    resp = await send_view_submission(
        bot.url, SECRET, view["callback_id"], values, user_id=MOD, private_metadata=view["private_metadata"]
    )
    assert (resp.status, resp.body) == (200, "")  # an empty ack closes the modal
    card = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
    claim = next(c for c in bot.app.polls.claims if c.id == second)
    assert second != first and claim.claim in card.args["text"]
    assert "names visible to moderators · closes 03 Nov 09:30 UTC" in card.args["text"]
    assert len(buttons_of(card)) == 6

    # their own claim and options (one per line), submitted by a workspace admin (is_admin filled for forms)
    values = {
        **choose(view, "claim_id", first),
        **typed("claim", "Reading groups should vote more."),
        **typed("options", "Yes\n\nNo\nNot sure"),
        **typed("duration", "2h"),
        **choose(view, "anonymous", "on"),
        **choose(view, "hidden", "off"),
    }
    await send_view_submission(
        bot.url, SECRET, NEW_POLL_FORM, values, user_id=ADMIN, private_metadata=view["private_metadata"]
    )
    own = (await bot.fake.wait_for_calls("chat.postMessage", 2, lambda c: c.args.get("channel") == CHANNEL))[1]
    assert "Reading groups should vote more." in own.args["text"]
    assert counts(own) == {"Yes": 0, "No": 0, "Not sure": 0} and "closes 03 Nov 11:00 UTC" in own.args["text"]

    # a submission by someone who isn't a moderator is refused, in the channel, privately
    await send_view_submission(
        bot.url, SECRET, NEW_POLL_FORM, values, user_id=MEMBER, private_metadata=view["private_metadata"]
    )
    assert await bot.private_to(MEMBER) == ["Only moderators can start polls."]
    await bot.settled()
    assert len(bot.calls("chat.postMessage")) == 2


@e2e
async def test_form_answers_reach_the_person_where_the_channel_cant_take_them(bot: Bot) -> None:
    await bot.command("", trigger_id="1730000000.trigger-two")
    view = (await bot.fake.wait_for_call("views.open")).args["view"]
    bot.fake.fail("chat.postEphemeral", error="not_in_channel")
    values = {**typed("duration", "9d"), **typed("claim", "A claim")}
    await send_view_submission(
        bot.url, SECRET, NEW_POLL_FORM, values, user_id=MOD, private_metadata=view["private_metadata"]
    )
    dm = await bot.fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == MOD)
    assert dm.args["text"] == "A poll runs from 1 minute to 7 days."
    assert bot.calls("chat.postMessage") == []

    # a good poll for a channel the bot was never invited to: said so, not "something went wrong"
    bot.fake.fail("chat.postMessage", error="not_in_channel")
    bot.fake.fail("chat.postEphemeral", error="not_in_channel")
    values = {**typed("duration", "30m"), **typed("claim", "A claim")}
    await send_view_submission(
        bot.url, SECRET, NEW_POLL_FORM, values, user_id=MOD, private_metadata=view["private_metadata"]
    )
    dm = (await bot.fake.wait_for_calls("chat.postMessage", 2, lambda c: c.args.get("channel") == MOD))[1]
    assert dm.args["text"].startswith("I can't post in that channel: invite me there first")
    assert [c.response["ok"] for c in bot.calls("chat.postMessage")] == [False]  # the card's one attempt


@e2e
async def test_an_expired_trigger_is_explained(bot: Bot) -> None:
    bot.fake.fail("views.open", error="expired_trigger_id")
    await bot.command("")
    assert await bot.private_to(MOD) == ["Slack took too long to open the form; please run the command again."]


@e2e
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x | a | a", "Each poll option must be different."),
        ("claim duration=9d", "A poll runs from 1 minute to 7 days."),
        ("claim | only one", "A poll has 2 to 5 options; you gave 1."),
    ],
)
async def test_bad_poll_input_is_answered_privately_and_nothing_is_posted(bot: Bot, text: str, says: str) -> None:
    await bot.command(text)
    assert await bot.private_to(MOD) == [says]
    await bot.settled()
    assert bot.calls("chat.postMessage") == [] and bot.fake.calls_to("views.open") == []
