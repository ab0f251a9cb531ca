"""Text safety: no output can ping anyone, and questions are sane before any work is done.

The core's rules speak of neutral mentions (``@here``); each adapter translates its platform's
syntax on the way in and defuses it on the way out, tested here beside the neutral rules."""

from __future__ import annotations

import re

import pytest

from bot.adapters.discord.mentions import to_neutral as discord_to_neutral
from bot.adapters.discord.render import defuse
from bot.adapters.slack.render import safe_mrkdwn, safe_plain
from bot.adapters.slack.translate import to_plain as slack_to_plain
from bot.core.text import MAX_QUESTION_CHARS, ZWSP, clean_question, neutralize_mentions, strip_mentions
from bot.errors import InputError

PINGABLE = re.compile(
    r"@(everyone|here|channel)\b"  # bare mass mentions
    r"|<!(everyone|here|channel)"  # Slack special mentions
    r"|<!subteam\^"  # Slack user groups
    r"|<@[!&]?\w+",  # Slack / Discord user and role mentions
    re.IGNORECASE,
)

NEUTRAL = ["@everyone", "@here", "@channel", "@Everyone"]
SLACK = [  # (mention as Slack sends it, the plain word left after the zero-width space)
    ("<!channel>", "channel"),
    ("<!here>", "here"),
    ("<!everyone|everyone>", "everyone"),
    ("<!subteam^S123|@team>", "team"),
    ("<@U123>", "U123"),
    ("<@U123|bob>", "bob"),
]
DISCORD = [
    ("<@123456789012345678>", "123456789012345678"),
    ("<@!123456789012345678>", "123456789012345678"),
    ("<@&123456789012345678>", "123456789012345678"),
]


@pytest.mark.parametrize("mention", NEUTRAL)
def test_neutralize_defuses_every_mass_mention(mention):
    out = neutralize_mentions(f"hi {mention} read this")
    assert mention not in out
    assert not PINGABLE.search(out), out
    assert f"@{ZWSP}{mention[1:]}" in out
    assert out.startswith("hi ") and out.endswith(" read this")


def test_neutral_text_speaks_of_no_platform():
    assert neutralize_mentions("Mention @readbot in this thread") == "Mention @readbot in this thread"
    assert neutralize_mentions("<!channel> <@U1>") == "<!channel> <@U1>"  # not the core's syntax: adapters' job


@pytest.mark.parametrize(("mention", "word"), SLACK, ids=[m for m, _ in SLACK])
def test_slack_output_defuses_every_slack_mention_form(mention, word):
    for out in (safe_mrkdwn(f"hi {mention} read this"), safe_plain(f"hi {mention} read this")):
        assert mention not in out
        assert not PINGABLE.search(out), out
        assert word in out
        assert out.startswith("hi ") and out.endswith(" read this")
    assert slack_to_plain(f"hi {mention}") == f"hi @{word}"  # the way in: a neutral mention


@pytest.mark.parametrize(("mention", "word"), DISCORD, ids=[m for m, _ in DISCORD])
def test_discord_output_defuses_every_discord_mention_form(mention, word):
    out = defuse(f"hi {mention} read this")
    assert mention not in out
    assert not PINGABLE.search(out), out
    assert word in out
    assert discord_to_neutral(f"hi {mention}") == f"hi @{word}"


def test_neutralize_handles_many_mentions_at_once_and_is_idempotent():
    slack = " ".join(NEUTRAL + [m for m, _ in SLACK])
    discord = " ".join(NEUTRAL + [m for m, _ in DISCORD])
    for safe in (neutralize_mentions(slack_to_plain(slack)), safe_plain(slack), safe_mrkdwn(slack), defuse(discord)):
        assert not PINGABLE.search(safe), safe
    assert defuse(defuse(discord)) == defuse(discord) and safe_plain(safe_plain(slack)) == safe_plain(slack)
    once = neutralize_mentions(" ".join(NEUTRAL))
    assert once.count(f"@{ZWSP}") == len(NEUTRAL)
    assert neutralize_mentions(once) == once


def test_neutralize_leaves_ordinary_text_alone():
    text = "Ilya says the age of scaling (2020\u20132025) is over; research matters: <b>bold</b>."
    assert neutralize_mentions(text) == text
    assert neutralize_mentions("") == ""


def test_strip_mentions_removes_them_from_a_question():
    assert strip_mentions("@U0BOT @here what is SSI? @channel") == "what is SSI?"
    assert strip_mentions(slack_to_plain("<@U0BOT> @here what is SSI? <!channel>")) == "what is SSI?"
    assert strip_mentions(discord_to_neutral("<@!123456789012345678>   why   scale?")) == "why scale?"
    assert strip_mentions("mail me@example.com about it") == "mail me@example.com about it"


@pytest.mark.parametrize("raw", [None, 42, b"what is SSI?", ["what is SSI?"]])
def test_clean_question_rejects_non_text(raw):
    with pytest.raises(InputError, match="must be text"):
        clean_question(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "@here", "@U123 @channel"])
def test_clean_question_rejects_empty_and_blank(raw):
    with pytest.raises(InputError, match="ask a question about the reading"):
        clean_question(raw)


@pytest.mark.parametrize("raw", ["x", "??", "1234", "a?", "!!! ..."])
def test_clean_question_rejects_junk(raw):
    with pytest.raises(InputError, match="doesn't look like a question"):
        clean_question(raw)


def test_clean_question_length_limit():
    at_limit = ("why " * 600)[: MAX_QUESTION_CHARS - 1] + "?"
    assert len(at_limit) == MAX_QUESTION_CHARS == 2000
    assert clean_question(at_limit) == at_limit.strip()
    with pytest.raises(InputError, match="2,001 characters"):
        clean_question(at_limit + "x")
    with pytest.raises(InputError, match="under 2,000"):
        clean_question("why " * 10_000)


def test_every_input_error_is_one_line():
    for raw in (None, "", "x", "why " * 1000):
        with pytest.raises(InputError) as info:
            clean_question(raw)
        assert "\n" not in str(info.value) and str(info.value)


def test_clean_question_strips_mentions_and_control_characters():
    assert clean_question(slack_to_plain("<@U0BOT> @here what is SSI's plan? <!channel>")) == "what is SSI's plan?"
    assert clean_question(discord_to_neutral("<@123456789012345678> why\x00 scale\x07?")) == "why scale ?"
    assert clean_question("  What is a value function?  ") == "What is a value function?"


def test_service_answer_to_a_mass_mention_question_pings_nobody(knowledge_service):
    answer = knowledge_service.ask(slack_to_plain("@here what is SSI's straight-shot plan? <!channel>"))
    assert answer.question == "what is SSI's straight-shot plan?"
    assert answer.grounded
    assert answer.sources[0].section == "SSI\u2019s approach: straight-shotting superintelligence"
    assert not PINGABLE.search(answer.text), answer.text
    for source in answer.sources:
        assert not PINGABLE.search(source.text)


def test_answer_text_from_a_reading_with_a_mention_in_a_heading_pings_nobody(tmp_settings, tmp_path):
    from bot.knowledge.service import KnowledgeService

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "club.md").write_text(
        "# Club\n\n## Reminders for @everyone\n\n"
        "- The club meets every Tuesday at the library to discuss the reading.\n"
        "- Bring your own copy of the book.\n",
        encoding="utf-8",
    )
    service = KnowledgeService.open(tmp_settings)
    try:
        service.ingest([docs])
        answer = service.ask("When does the club meet?")
        assert answer.grounded
        assert not PINGABLE.search(answer.text), answer.text
    finally:
        service.close()


def test_a_count_has_its_noun_in_the_right_number() -> None:
    from bot.core.text import counted

    assert [counted(n, "section") for n in (0, 1, 2)] == ["0 sections", "1 section", "2 sections"]
