"""Text safety: no output can ping anyone, and questions are sane before any work is done."""

from __future__ import annotations

import re

import pytest

from bot.errors import InputError
from bot.text import MAX_QUESTION_CHARS, ZWSP, clean_question, neutralize_mentions, strip_mentions

PINGABLE = re.compile(
    r"@(everyone|here|channel)\b"  # bare mass mentions
    r"|<!(everyone|here|channel)"  # Slack special mentions
    r"|<!subteam\^"  # Slack user groups
    r"|<@[!&]?\w+",  # Slack / Discord user and role mentions
    re.IGNORECASE,
)

MENTIONS = [
    # (mention, the plain word left after the zero-width space)
    ("@everyone", "everyone"),
    ("@here", "here"),
    ("@channel", "channel"),
    ("@Everyone", "Everyone"),
    ("<!channel>", "channel"),
    ("<!here>", "here"),
    ("<!everyone|everyone>", "everyone"),
    ("<!subteam^S123|@team>", "team"),
    ("<@U123>", "U123"),
    ("<@U123|bob>", "bob"),
    ("<@123456789012345678>", "123456789012345678"),
    ("<@!123456789012345678>", "123456789012345678"),
    ("<@&123456789012345678>", "123456789012345678"),
]


@pytest.mark.parametrize(("mention", "word"), MENTIONS, ids=[m for m, _ in MENTIONS])
def test_neutralize_defuses_every_mention_form(mention, word):
    out = neutralize_mentions(f"hi {mention} read this")
    assert mention not in out
    assert not PINGABLE.search(out), out
    assert f"@{ZWSP}{word}" in out
    assert out.startswith("hi ") and out.endswith(" read this")


def test_neutralize_handles_many_mentions_at_once_and_is_idempotent():
    text = " ".join(m for m, _ in MENTIONS)
    once = neutralize_mentions(text)
    assert not PINGABLE.search(once)
    assert once.count(f"@{ZWSP}") == len(MENTIONS)
    assert neutralize_mentions(once) == once


def test_neutralize_leaves_ordinary_text_alone():
    text = "Ilya says the age of scaling (2020\u20132025) is over; research matters: <b>bold</b>."
    assert neutralize_mentions(text) == text
    assert neutralize_mentions("") == ""


def test_strip_mentions_removes_them_from_a_question():
    assert strip_mentions("<@U0BOT> @here what is SSI? <!channel>") == "what is SSI?"
    assert strip_mentions("<@!123456789012345678>   why   scale?") == "why scale?"


@pytest.mark.parametrize("raw", [None, 42, b"what is SSI?", ["what is SSI?"]])
def test_clean_question_rejects_non_text(raw):
    with pytest.raises(InputError, match="must be text"):
        clean_question(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "@here", "<@U123> <!channel>"])
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
    assert clean_question("<@U0BOT> @here what is SSI's plan? <!channel>") == "what is SSI's plan?"
    assert clean_question("<@123456789012345678> why\x00 scale\x07?") == "why scale ?"
    assert clean_question("  What is a value function?  ") == "What is a value function?"


def test_service_answer_to_a_mass_mention_question_pings_nobody(knowledge_service):
    answer = knowledge_service.ask("@here what is SSI's straight-shot plan? <!channel>")
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
        "- Bring your own copy of the book.\n", encoding="utf-8")
    service = KnowledgeService.open(tmp_settings)
    try:
        service.ingest([docs])
        answer = service.ask("When does the club meet?")
        assert answer.grounded
        assert not PINGABLE.search(answer.text), answer.text
    finally:
        service.close()
