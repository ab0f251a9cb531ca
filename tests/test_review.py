"""The review queue end to end: a reading added in chat gets drafted questions and claims that wait for a
moderator (/prompt drafts, /poll drafts: approve, edit, reject), the channel's reading's approved bank
drives /prompt now and /poll, a moderator's own claim is shown with the passage that supports it, and
bad input (an unknown draft, one already rejected, an edit into a mass mention or over the limit) gets
one private line and changes nothing. Through the console (real Chroma, model, SQLite), the CLI, the
queue on SQLite and PostgreSQL, and Slack's fake through the real slack-bolt adapter."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.slack.adapter import SlackAdapter
from bot.app import CURATED_READING, AdapterKit, open_app
from bot.clock import ManualClock
from bot.errors import ConfigError, InputError
from bot.polls.claims import load_claims
from bot.readings.formats import load_path
from bot.review.queue import APPROVED, PENDING, REJECTED, NewItem, ReviewQueue
from bot.settings import Settings
from tests.fakes.slack_server import (
    DEFAULT_BOT_TOKEN,
    FakeSlackAPI,
    send_block_action,
    send_slash_command,
    send_view_submission,
)
from tests.polls_support import open_database
from tests.test_readings import KARI, MEMBER, MOD, Chat, console, headings

CARD_ID = re.compile(r"^Draft (?:discussion question|claim) (d[0-9a-f]{10}) \((\w+)", re.MULTILINE)


def ids_in(text: str) -> list[tuple[str, str]]:
    return CARD_ID.findall(text)


def settings(tmp_path: Path, **extra: str) -> Settings:
    env = {"READBOT_DATA_DIR": str(tmp_path / "data"), "READBOT_MODERATORS": MOD.id, **extra}
    env["READBOT_CONFIG"] = str(tmp_path / "none.toml")
    return Settings.from_env(env, dotenv=None)


@pytest.mark.asyncio
async def test_drafts_wait_for_review_and_the_approved_bank_drives_prompts_and_polls(tmp_path: Path) -> None:
    async with open_app(settings(tmp_path), adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        assert "Added “Kari Woodencoat” (kari)" in await chat.say(MOD, f"/reading add kari {KARI}")
        await chat.say(MOD, "/reading use kari")
        assert app.review is not None
        queue = app.review.queue
        drafted = await queue.items("kari")
        assert drafted and {i.state for i in drafted} == {PENDING}
        assert {i.section for i in drafted} <= set(headings(KARI))

        # nothing approved yet: /poll and /prompt now say so, and post nothing
        assert "no approved claims yet" in await chat.say(MOD, "/poll")
        assert "no approved discussion questions" in await chat.say(MOD, "/prompt now")
        assert not [r for _, r in chat.adapter.posted if r.text.startswith(("Poll:", "Discussion question:"))]

        # a member can't review
        assert "Only moderators can review draft claims." in await chat.say(MEMBER, "/poll drafts")
        assert "Only moderators can review draft discussion questions." in await chat.say(MEMBER, "/prompt drafts")

        listed = await chat.say(MOD, "/poll drafts")
        claims = ids_in(listed)
        assert len(claims) >= 3 and all(state == "pending" for _, state in claims)
        assert "9 waiting" in listed or "waiting" in listed
        _, last_card = chat.adapter.posted[-1]
        assert [b.label for b in last_card.buttons] == ["Approve", "Edit", "Reject"]

        # approve the last card by its button, reject the one before by command
        last_id = claims[-1][0] if len(claims) <= 10 else claims[9][0]
        assert f"Approved the claim {last_id}" in await chat.say(MOD, "click 1")
        first_id, second_id = claims[0][0], claims[1][0]
        assert f"Rejected the claim {second_id}" in await chat.say(MOD, f"/poll drafts reject {second_id}")

        # bad input: one clear private line, nothing changed
        before = await queue.get(first_id)
        assert "already rejected" in await chat.say(MOD, f"/poll drafts approve {second_id}")
        assert "already approved" in await chat.say(MOD, f"/poll drafts approve {last_id}")
        assert "can't mention" in await chat.say(MOD, f"/poll drafts edit {first_id} @everyone the king was cruel.")
        assert "can't mention" in await chat.say(MOD, f"/poll drafts edit {first_id} @\u200bhere the king was cruel.")
        assert "keep it to 300" in await chat.say(MOD, f"/poll drafts edit {first_id} The king {'was very ' * 60}.")
        assert "There is no draft 'dnope'" in await chat.say(MOD, "/poll drafts approve dnope")
        assert "There is no draft" in await chat.say(MOD, "/prompt drafts approve " + first_id)  # a claim, not a prompt
        assert "rejected; nothing changed" in await chat.say(MOD, f"/poll drafts edit {second_id} The queen is cruel.")
        assert await queue.get(first_id) == before
        assert (await queue.get(second_id)).state == REJECTED  # type: ignore[union-attr]
        private = [r for _, r in chat.adapter.posted[-8:]]
        assert all(r.visibility.value == "private" for r in private)

        # the Edit button asks for the new text (the console: on the next line); the edit keeps its state
        await chat.say(MOD, "/poll drafts")
        out = chat.adapter.out
        assert isinstance(out, io.StringIO)
        await chat.say(MOD, "click 2")  # the last card's Edit
        assert out.getvalue().rstrip().endswith("(type it on the next line; an empty line skips)")
        await chat.say(MOD, "")  # an empty line changes nothing
        assert out.getvalue().rstrip().endswith("Skipped.")
        assert await queue.get(first_id) == before
        await chat.say(MOD, "click 2")
        edited = await chat.say(MOD, "The bull was wiser than the king who sent his daughter away.")
        assert "Saved." in edited and "(pending · edited)" in edited
        (by_button,) = [i for i in await queue.items("kari") if i.text.startswith("The bull was wiser")]
        assert by_button.state == PENDING and by_button.original
        assert "Rejected" in await chat.say(MOD, f"/poll drafts reject {by_button.id}")
        # ... and by command
        edited = await chat.say(MOD, f"/poll drafts edit {first_id} The stepmother was cruel and unfair to Kari.")
        assert "Saved." in edited and "(pending · edited)" in edited
        assert "Approved the claim" in await chat.say(MOD, f"/poll drafts approve {first_id}")
        item = await queue.get(first_id)
        assert item is not None and item.text == "The stepmother was cruel and unfair to Kari." and item.original

        # /poll with no claim draws the reading's approved claims in reading order, with section and passage
        approved = await queue.approved("claim", "kari")
        assert {a.id for a in approved} == {first_id, last_id}
        assert [a.order for a in approved] == sorted(a.order for a in approved)
        card = await chat.say(MOD, "/poll")
        assert card.startswith(f"Poll: “{approved[0].text}”")
        assert f"From “{approved[0].section}”" in card
        card = await chat.say(MOD, "/poll")
        assert card.startswith(f"Poll: “{approved[1].text}”")
        assert "Every claim in the bank has been polled" in await chat.say(MOD, "/poll")

        # a claim of the moderator's own: shown with the passage that supports it, when one does
        own = await chat.say(MOD, "/poll The stepmother let the king's daughter starve and beat her.")
        match = re.search(r"From “(Part \d+)”: “(.+)”", own)
        assert match is not None
        assert match.group(2) in " ".join(load_path(KARI).sections[int(match.group(1).split()[1]) - 1].text.split())
        unrelated = await chat.say(MOD, "/poll Electric cars will replace petrol cars within ten years.")
        assert unrelated.startswith("Poll: “Electric cars") and "From “" not in unrelated

        # discussion questions: approve two, /prompt now posts them with their section and passage
        prompts = ids_in(await chat.say(MOD, "/prompt drafts"))
        for item_id, _ in prompts[:2]:
            assert "Approved the discussion question" in await chat.say(MOD, f"/prompt drafts approve {item_id}")
        posted = await chat.say(MOD, "/prompt now")
        assert "Posted the next discussion question" in posted
        post = next(r for _, r in reversed(chat.adapter.posted) if r.text.startswith("Discussion question:"))
        chosen = {i.text: i for i in await queue.approved("prompt", "kari")}
        question = post.text.split("\n", 1)[0].removeprefix("Discussion question: ")
        assert question in chosen and f"From “{chosen[question].section}”" in post.text

        # the spoiler bound's hook: banks honour upto (the last section order read)
        orders = sorted(i.order for i in await queue.approved("prompt", "kari"))
        assert [i.order for i in await queue.approved("prompt", "kari", upto=orders[0])] == [orders[0]]
        bank = await app.prompts.service.bank("console", chat.adapter.channel.id, upto=orders[0])
        assert [q.id for q in bank] == [i.id for i in await queue.approved("prompt", "kari", upto=orders[0])]
        assert await app.polls.bank("console", chat.adapter.channel.id, upto=-1) == []

    async with open_app(settings(tmp_path), adapters=[console], run_tasks=False) as app:  # a restart keeps it all
        chat = Chat(app)
        assert app.review is not None
        assert (await app.review.queue.get(first_id)).state == APPROVED  # type: ignore[union-attr]
        assert "2 rejected" in await chat.say(MOD, "/poll drafts")  # one by command, one after its edit
        # the reading removed: its drafts go too
        await chat.say(MOD, "/reading remove kari")
        assert await app.review.queue.items("kari") == []


@pytest.mark.asyncio
async def test_drafts_approve_setting_approves_as_they_are_made_and_the_schedule_posts_them(tmp_path: Path) -> None:
    config = tmp_path / "readbot.toml"
    config.write_text(
        '[[schedule]]\nplatform = "console"\nchannel = "reading-group"\ncron = "* * * * *"\ntimezone = "UTC"\n',
        encoding="utf-8",
    )
    base = settings(tmp_path, READBOT_DRAFTS="approve")
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC))
    async with open_app(
        dataclasses.replace(base, config_path=config), adapters=[console], clock=clock, run_tasks=False
    ) as app:
        chat = Chat(app)
        await chat.say(MOD, f"/reading add kari {KARI}")
        await chat.say(MOD, "/reading use kari")
        assert "No draft claims wait for review for kari (0 waiting" in await chat.say(MOD, "/poll drafts")
        assert (await chat.say(MOD, "/poll")).startswith("Poll: “")
        assert app.review is not None
        items = await app.review.queue.items("kari")
        assert items and {i.state for i in items} == {APPROVED} and {i.decided_by for i in items} == {MOD.id}
        questions = {i.text: i for i in items if i.kind == "prompt"}

        # the scheduled prompt of the next minute is one of the reading's questions, with its passage
        assert await app.prompts.tick() == []  # the first look only notes the time
        clock.advance(seconds=60)
        (outcome,) = await app.prompts.tick()
        assert outcome.status == "posted" and outcome.job.question.question in questions
        post = chat.adapter.posted[-1][1].text
        assert f"From “{questions[outcome.job.question.question].section}”" in post
        assert "Posted the next discussion question" in await chat.say(MOD, "/prompt now")


@pytest.mark.asyncio
async def test_the_shipped_reading_keeps_its_curated_banks_until_it_is_removed(tmp_path: Path) -> None:
    async with open_app(settings(tmp_path), adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        curated = load_claims()
        card = await chat.say(MOD, "/poll")  # no reading set: the shipped reading, its curated claims
        assert card.startswith(f"Poll: “{curated[0].claim}”") and f"From “{curated[0].section}”" in card
        assert "curated discussion questions: nothing to review" in await chat.say(MOD, "/prompt drafts")
        assert app.review is not None
        banks = app.review.banks
        entries = await banks.entries("claim", CURATED_READING)
        assert all(e.order is not None for e in entries)
        first = min(e.order for e in entries if e.order is not None)
        assert {e.order for e in await banks.entries("claim", CURATED_READING, upto=first)} == {first}

        await chat.say(MOD, f"/reading remove {CURATED_READING}")
        assert "no approved claims yet" in await chat.say(MOD, "/poll")  # not the old claims any more
        assert "no approved discussion questions" in await chat.say(MOD, "/prompt now")


def test_a_bad_drafts_setting_stops_start_up_with_one_line(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="READBOT_DRAFTS='maybe': expected review or approve"):
        Settings.from_env({"READBOT_DRAFTS": "maybe"}, dotenv=None)
    assert Settings.from_env({"READBOT_DRAFTS": " Approve "}, dotenv=None).drafts == "approve"
    assert Settings.from_env({}, dotenv=None).drafts == "review"
    result = run_readbot(["readings", "list"], data_dir=tmp_path / "data", env={"READBOT_DRAFTS": "maybe"})
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0 and "READBOT_DRAFTS" in result.stderr


def test_cli_prints_every_draft_of_a_reading(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert run_readbot(["readings", "add", str(KARI), "--id", "kari"], data_dir=data).returncode == 0
    result = run_readbot(["readings", "drafts", "kari", "--json"], data_dir=data)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    doc = load_path(KARI)
    by_heading = {s.heading: " ".join(s.text.split()) for s in doc.sections}
    assert len(found["prompts"]) >= 13 and len(found["claims"]) >= 9  # 26 sections
    for entry in found["prompts"]:
        assert entry["question"].endswith("?") and entry["passage"] in by_heading[entry["section"]]
        assert entry["state"] == "pending"
    for entry in found["claims"]:
        assert not entry["claim"].endswith("?") and entry["passage"] in by_heading[entry["section"]]
    text = run_readbot(["readings", "drafts", "kari"], data_dir=data)
    assert text.returncode == 0 and f"{len(found['prompts'])} questions:" in text.stdout

    shipped = json.loads(run_readbot(["readings", "drafts", CURATED_READING, "--json"], data_dir=data).stdout)
    assert [c["claim"] for c in shipped["claims"]] == [c.claim for c in load_claims()]
    assert {c["state"] for c in shipped["claims"]} == {"curated"}

    unknown = run_readbot(["readings", "drafts", "nope"], data_dir=data)
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    assert "no reading called “nope”" in unknown.stderr and "Traceback" not in unknown.stderr


# ------------------------------------------------------------------ the queue on both databases

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_queue_decides_each_draft_once(kind: str, tmp_path: Path) -> None:
    async with open_database(kind, tmp_path) as db:
        queue = ReviewQueue(db)
        items = [
            NewItem("claim", "The queen was cruel to her stepdaughter.", "Part 1", 0, "the queen was cruel"),
            NewItem(
                "claim", "the queen was cruel to her stepdaughter", "Part 1", 0, "a duplicate, differently written"
            ),
            NewItem("claim", "The bull was wiser than the king.", "Part 4", 3, "the bull was wise"),
            NewItem("prompt", "Was the bull right to ask for this reward?", "Part 14", 13, "the only reward"),
        ]
        stored = await queue.replace_made("kari", items, by="cli", now=NOW, approve=False)
        assert [i.text for i in stored] == [items[0].text, items[2].text, items[3].text]  # reading order, no duplicate
        first, second, question = stored
        # an approve and a reject racing: one wins, the other is told
        outcomes = await asyncio.gather(
            queue.decide(first.id, APPROVED, by="mod-a", now=NOW),
            queue.decide(first.id, REJECTED, by="mod-b", now=NOW),
            return_exceptions=True,
        )
        assert sum(isinstance(o, InputError) for o in outcomes) <= 1
        final = await queue.get(first.id)
        assert final is not None and final.state in (APPROVED, REJECTED)
        with pytest.raises(InputError, match="There is no draft"):
            await queue.decide("d0000000000", APPROVED, by="mod", now=NOW)
        await queue.decide(second.id, APPROVED, by="mod", now=NOW)
        await queue.decide(question.id, APPROVED, by="mod", now=NOW)
        with pytest.raises(InputError, match="already has that text"):
            await queue.edit(second.id, "THE QUEEN was cruel to her stepdaughter!", by="mod", now=NOW)
        assert [i.order for i in await queue.approved("claim", "kari", upto=2)] == (
            [0] if final.state == APPROVED else []
        )
        assert [i.id for i in await queue.approved("prompt", "kari", upto=12)] == []
        assert [i.id for i in await queue.approved("prompt", "kari", upto=13)] == [question.id]
        # the reading replaced: the drafter's items are made again
        again = await queue.replace_made("kari", items[2:], by="cli", now=NOW, approve=True)
        assert [(i.text, i.state) for i in again] == [(items[2].text, APPROVED), (items[3].text, APPROVED)]
        assert await queue.remove_reading("kari") == 2 and await queue.items("kari") == []


# ------------------------------------------------------------------ Slack, end to end

SECRET = "readbot-review-signing-secret"
CHANNEL = "C0REVIEW1"
SLACK_MOD, SLACK_MEMBER = "U0RMOD", "U0RMEMBER"


def buttons_of(call: Any) -> list[dict[str, Any]]:
    actions = [b for b in call.args.get("blocks") or [] if b["type"] == "actions"]
    return [e for block in actions for e in block["elements"]]


def to(user: str) -> Callable[[Any], bool]:
    return lambda c: c.args.get("channel") == CHANNEL and c.args.get("user") == user


@pytest.mark.asyncio
async def test_slack_review_with_buttons_and_the_edit_form(tmp_path: Path) -> None:
    async with FakeSlackAPI() as fake:
        fake.add_user(SLACK_MOD, "mona")
        fake.add_user(SLACK_MEMBER, "max")
        env = {
            "READBOT_DATA_DIR": str(tmp_path / "data"),
            "READBOT_MODERATORS": SLACK_MOD,
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "READBOT_POLL_SECRET": "test-poll-secret",
            "READBOT_CONFIG": str(tmp_path / "none.toml"),
        }
        settings = dataclasses.replace(Settings.from_env(env, dotenv=None), http_port=0)

        def slack(kit: AdapterKit) -> SlackAdapter:
            return SlackAdapter(kit.settings, kit.dispatcher, host="127.0.0.1")

        clock = ManualClock(NOW)
        async with open_app(settings, adapters=[slack], clock=clock, run_tasks=False) as app:
            (adapter,) = app.adapters
            assert isinstance(adapter, SlackAdapter)
            url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
            await app.readings.add_doc(load_path(KARI), KARI.name, reading_id="kari", by=SLACK_MOD)
            await app.readings.use("slack", CHANNEL, "kari", by=SLACK_MOD)

            async def command(name: str, text: str, user: str = SLACK_MOD, **kw: Any) -> None:
                resp = await send_slash_command(url, SECRET, name, text, user_id=user, channel_id=CHANNEL, **kw)
                assert resp.status == 200

            await command("/poll", "drafts")
            calls = await fake.wait_for_calls("chat.postEphemeral", 4, to(SLACK_MOD))
            cards = [c for c in calls if buttons_of(c)]
            assert cards and all(
                [b["text"]["text"] for b in buttons_of(c)] == ["Approve", "Edit", "Reject"] for c in cards
            )
            approve, _edit, _reject = buttons_of(cards[0])
            item_id = approve["value"]

            # a member's click is refused; the moderator's approves
            await send_block_action(
                url, SECRET, approve["action_id"], item_id, user_id=SLACK_MEMBER, channel_id=CHANNEL
            )
            refused = await fake.wait_for_call("chat.postEphemeral", to(SLACK_MEMBER))
            assert refused.args["text"] == "Only moderators can review draft claims."
            await send_block_action(url, SECRET, approve["action_id"], item_id, user_id=SLACK_MOD, channel_id=CHANNEL)
            await fake.wait_for_calls(
                "chat.postEphemeral", 1, lambda c: to(SLACK_MOD)(c) and c.args["text"].startswith("Approved the claim")
            )
            assert app.review is not None
            assert (await app.review.queue.get(item_id)).state == APPROVED  # type: ignore[union-attr]

            # Edit opens a modal with the text; a mass mention is refused, a good text saved
            other = buttons_of(cards[1])[1]
            await send_block_action(
                url,
                SECRET,
                other["action_id"],
                other["value"],
                user_id=SLACK_MOD,
                channel_id=CHANNEL,
                trigger_id="1730000000.review-edit",
            )
            opened = await fake.wait_for_call("views.open")
            view = opened.args["view"]
            assert view["callback_id"] == f"review:edit:{other['value']}"
            block = view["blocks"][0]
            before = await app.review.queue.get(other["value"])
            assert before is not None and block["element"]["initial_value"] == before.text

            def typed(text: str) -> dict[str, Any]:
                return {block["block_id"]: {block["element"]["action_id"]: {"type": "plain_text_input", "value": text}}}

            meta = view["private_metadata"]
            await send_view_submission(
                url,
                SECRET,
                view["callback_id"],
                typed("@channel the bull was wise."),
                user_id=SLACK_MOD,
                private_metadata=meta,
            )
            await fake.wait_for_calls(
                "chat.postEphemeral", 1, lambda c: to(SLACK_MOD)(c) and "can't mention" in c.args["text"]
            )
            assert await app.review.queue.get(other["value"]) == before
            await send_view_submission(
                url,
                SECRET,
                view["callback_id"],
                typed("The bull was wiser than the king."),
                user_id=SLACK_MOD,
                private_metadata=meta,
            )
            await fake.wait_for_calls(
                "chat.postEphemeral", 1, lambda c: to(SLACK_MOD)(c) and c.args["text"].startswith("Saved.")
            )
            assert (await app.review.queue.get(other["value"])).text == "The bull was wiser than the king."  # type: ignore[union-attr]

            # /poll in the channel posts the approved claim, with its section and passage
            await command("/poll", "duration=30m")
            card = await fake.wait_for_call("chat.postMessage", lambda c: c.args.get("channel") == CHANNEL)
            approved = await app.review.queue.get(item_id)
            assert approved is not None and f"“{approved.text}”" in card.args["text"]
            assert f"From “{approved.section}”" in card.args["text"]


def test_discord_reaches_the_drafts_through_the_poll_action() -> None:
    from bot.core.events import Channel, Command, User, Where
    from bot.polls.handlers import command_input

    where = Where(Channel("discord", "1"))
    event = Command("e1", where, User("u"), "poll", options={"action": "drafts", "claim": "edit d0123456789 New."})
    assert command_input(event) == ("drafts edit d0123456789 New.", {})
    assert command_input(Command("e2", where, User("u"), "poll", options={"action": "drafts"})) == ("drafts", {})


@pytest.mark.asyncio
async def test_with_a_language_model_configured_it_drafts_and_bad_drafts_fall_back(tmp_path: Path) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from bot.knowledge.service import KnowledgeService
    from bot.readings.drafts import LLM_BATCH, plan

    doc = load_path(KARI)
    chosen = plan(doc)
    jobs = [("question", c.passage) for c, _ in chosen.questions] + [("claim", p) for _, _, p in chosen.claims]
    answers = []
    for n, (kind, passage) in enumerate(jobs):
        opening = " ".join(passage.split()[:5]).strip(',;:.!?"“”')
        if n % 2:  # every other draft is bad: a question without "?", a claim that asks
            answers.append(f"What about “{opening}”" if kind == "question" else f"Is “{opening}” unfair?")
        elif kind == "question":
            answers.append(f"How would you have felt about “{opening}”, and why?")
        else:
            answers.append(f"The moment “{opening}” is unfair to everyone in it.")
    responses = [
        json.dumps([{"n": i + 1, "text": t} for i, t in enumerate(answers[start : start + LLM_BATCH])])
        for start in range(0, len(answers), LLM_BATCH)
    ]
    base = settings(tmp_path)
    knowledge = KnowledgeService.open(base, chat_model=FakeListChatModel(responses=responses))
    try:
        async with open_app(base, adapters=[console], knowledge=knowledge, run_tasks=False) as app:
            chat = Chat(app)
            await chat.say(MOD, f"/reading add kari {KARI}")
            assert app.review is not None
            items = await app.review.queue.items("kari")
            by_passage = {i.passage: i for i in items}
            for n, (_kind, passage) in enumerate(jobs):
                item = by_passage[passage]
                assert item.origin == ("drafted" if n % 2 else "llm")
                if not n % 2:
                    assert item.text == answers[n]
    finally:
        knowledge.close()


@pytest.mark.asyncio
async def test_prompts_and_polls_stay_within_the_channels_progress(tmp_path: Path) -> None:
    """/reading progress bounds the banks too: /poll, /prompt now and a moderator's own claim's
    passage come only from the sections read (spoiler-safe), and the whole reading opens again."""
    async with open_app(settings(tmp_path, READBOT_DRAFTS="approve"), adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        await chat.say(MOD, f"/reading add kari {KARI}")
        await chat.say(MOD, "/reading use kari")
        assert app.review is not None
        items = await app.review.queue.items("kari")
        claims = sorted((i for i in items if i.kind == "claim"), key=lambda i: i.order)
        questions = sorted((i for i in items if i.kind == "prompt"), key=lambda i: i.order)
        # read up to the section of the second claim: later claims and questions are out of bounds
        bound = claims[1].order
        heading = claims[1].section
        assert heading in await chat.say(MOD, f"/reading progress {heading}")
        seen_claims = set()
        for _ in claims:
            card = await chat.say(MOD, "/poll")
            if not card.startswith("Poll: “"):
                assert "Every claim in the bank has been polled" in card
                break
            seen_claims.add(card.split("”", 1)[0].removeprefix("Poll: “"))
            await chat.say(MOD, "/poll close")
        allowed = {c.text for c in claims if c.order <= bound}
        assert seen_claims == allowed  # every claim read so far, none past it
        posted = await chat.say(MOD, "/prompt now")
        first = chat.adapter.posted[-2][1].text if "Posted" in posted else posted
        assert any(q.text in first for q in questions if q.order <= bound), first
        assert not any(q.text in first for q in questions if q.order > bound)
        # a moderator's claim is matched only to a passage the group has read
        later = claims[-1]
        own = await chat.say(MOD, f"/poll {later.passage[:250]}")
        sections = headings(KARI)
        match = re.search(r"From “(Part \d+)”", own)
        assert match is None or sections.index(match.group(1)) <= bound, own
        await chat.say(MOD, "/poll close")
        # progress cleared: the rest of the bank is open again
        await chat.say(MOD, "/reading progress clear")
        assert (await chat.say(MOD, "/poll")).startswith(f"Poll: “{claims[2].text}")
        await chat.say(MOD, "/poll close")
        unbounded = await chat.say(MOD, f"/poll {later.passage[:250]}")  # ... and the later passage is found
        assert f"From “{later.section}”" in unbounded, unbounded


@pytest.mark.asyncio
async def test_a_members_suggestion_joins_the_review_queue_and_once_approved_the_bank(tmp_path: Path) -> None:
    async with open_app(settings(tmp_path), adapters=[console], run_tasks=False) as app:
        chat = Chat(app)
        assert app.review is not None
        await chat.say(MOD, f"/reading add kari {KARI}")
        await chat.say(MOD, "/reading use kari")
        suggestion = "Why does Kari keep her wooden coat on even at the palace?"
        said = await chat.say(MEMBER, f"/prompt suggest {suggestion}")
        assert "waits for a moderator's review" in said
        (item,) = [i for i in await app.review.queue.items("kari") if i.origin == "suggested"]
        assert item.state == PENDING and item.text == suggestion and item.created_by == MEMBER.id

        # bad input: one private line each, nothing added
        before = len(await app.review.queue.items("kari"))
        assert "already in this reading's bank" in await chat.say(MEMBER, f"/prompt suggest {suggestion.upper()}")
        assert "can't mention" in await chat.say(MEMBER, "/prompt suggest @everyone why is the bull so kind?")
        assert "keep it to 280" in await chat.say(MEMBER, "/prompt suggest Why " + "very " * 70 + "much?")
        assert "question mark" in await chat.say(MEMBER, "/prompt suggest The bull is the real hero here.")
        assert "Write the discussion question" in await chat.say(MEMBER, "/prompt suggest")
        assert "Only moderators" in await chat.say(MEMBER, "/prompt drafts")  # members suggest, moderators review
        assert len(await app.review.queue.items("kari")) == before
        for n in range(4):  # five an hour per person
            assert "waits for" in await chat.say(MEMBER, f"/prompt suggest Would you have helped the bull {n} times?")
        assert "5 suggestions in the last hour" in await chat.say(MEMBER, "/prompt suggest Is the prince fair to Kari?")
        private = [r for _, r in chat.adapter.posted[-12:]]
        assert all(r.visibility.value == "private" for r in private)

        # the moderator reviews it among the drafts; approved, it is the channel's next prompt
        listed = await chat.say(MOD, "/prompt drafts")
        assert f"Suggested discussion question {item.id} (pending) for kari" in listed
        assert "Suggested by a member." in listed
        assert "Approved" in await chat.say(MOD, f"/prompt drafts approve {item.id}")
        for other in await app.review.queue.items("kari"):
            if other.kind == "prompt" and other.id != item.id and other.state == PENDING:
                await chat.say(MOD, f"/prompt drafts reject {other.id}")
        await chat.say(MOD, "/prompt now")
        posted = [r.text for _, r in chat.adapter.posted if r.text.startswith("Discussion question:")]
        assert posted and suggestion in posted[-1] and "From “" not in posted[-1]
