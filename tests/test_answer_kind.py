"""A question that asks for an amount is covered only where the reading states one.

"How many chloroplasts are in a leaf cell?" finds the guide's sentence about chloroplasts, and the
coverage model, which judges what a sentence is about, calls it covered; the reading gives no
number, so readbot says so. Held on three kinds of reading: the expository guide
(``tests/data/photosynthesis.md``), a FairytaleQA story and the shipped summary.
"""

from __future__ import annotations

import pytest

from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.answer_kind import asks_amount, asks_feeling, states_amount, states_feeling
from bot.knowledge.service import KnowledgeService

GUIDE = "photo"
STORY = "kari-woodencoat"
SHIPPED = "dwarkesh-107-ilya-sutskever"


@pytest.mark.parametrize(
    "question",
    [
        "How many heads did the troll have?",
        "how many employees does SSI have",
        "How much money has SSI raised?",
        "how much compute did they buy from google",
        "How much did one of the men offer to marry the youngest daughter?",
        "how much does an H100 cost",
        "how old is the giant?",
        "What year was the company founded?",
        "what's his salary?",
        "what is the company valued at right now?",
    ],
)
def test_questions_that_ask_for_an_amount(question: str) -> None:
    assert asks_amount(question)


@pytest.mark.parametrize(
    "question",
    [
        "how much does neuroscience play into his way of doing research",  # a degree
        "How much of the reading is about safety?",  # a share
        "how much weight does he give to intuition?",
        "how much does it matter?",
        "How long did the bull and the king's daughter stay in the golden forest?",  # told in words ("a long time")
        "What did the man do with the money?",
        "Why did he take so much?",
        "what did the king spend his budget on?",
    ],
)
def test_questions_that_ask_for_something_else(question: str) -> None:
    assert not asks_amount(question)


@pytest.mark.parametrize(
    ("text", "states"),
    [
        ("it took three whole days before the bull got the better of him", True),
        ("'I would give a hundred pounds to marry her,' said one.", True),
        ("The age of scaling (2020–2025) was driven by…", True),
        ("The second stage takes place in the stroma", True),  # there are two stages
        ("costs rose by 40%", True),
        ("Thus they wandered for a long time, and through many lands", False),
        ("SSI aims to build safe superintelligence directly", False),
        ("Someone gave it to her at first", False),
    ],
)
def test_what_states_an_amount(text: str, states: bool) -> None:
    assert states_amount(text) is states


@pytest.mark.parametrize(
    ("question", "reading"),
    [
        ("how many chloroplasts are in a leaf cell?", GUIDE),
        ("how much oxygen do plants release per year?", GUIDE),
        ("how much compute does SSI have?", SHIPPED),  # used to quote the summary's line naming SSI
        ("how much data was used in pre-training?", SHIPPED),
        ("what is SSI valued at?", SHIPPED),  # as typed: spelling correction would make it "value at"
    ],
)
def test_an_amount_the_reading_never_states_is_declined_by_the_rule(
    three_kinds: KnowledgeService, question: str, reading: str
) -> None:
    answer = three_kinds.ask(question, reading=reading)
    assert not answer.grounded, answer.text
    assert answer.text.startswith(NOT_COVERED) and "It states no such number." in answer.text
    out = answer.to_json()
    # the coverage model called it covered (its score is over the threshold); the rule decided
    assert out["coverage"]["rule"] == "amount"
    assert out["coverage"]["score"] >= out["coverage"]["threshold"]
    assert out["sources"], "a declined answer still lists the closest sections"


@pytest.mark.parametrize(
    ("question", "reading", "said"),
    [
        ("how many carbons are in G3P?", GUIDE, "three-carbon sugar called G3P"),
        ("how many carbons does the sugar that RuBisCO fixes carbon dioxide onto have?", GUIDE, "five-carbon"),
        ("How many days did the troll and bull fight?", STORY, "three whole days"),
        ("how many stages does photosynthesis have?", GUIDE, "second stage"),
    ],
)
def test_an_amount_the_reading_states_is_quoted(
    three_kinds: KnowledgeService, question: str, reading: str, said: str
) -> None:
    answer = three_kinds.ask(question, reading=reading)
    assert answer.grounded, answer.text
    assert said in answer.body
    assert "rule" not in answer.to_json()["coverage"]


def test_a_question_of_degree_is_decided_by_the_model(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask("how much does neuroscience play into his way of doing research", reading=SHIPPED)
    assert answer.grounded, answer.text
    assert answer.sources[0].section == "Research taste and top-down belief"


def test_a_follow_up_to_an_amount_question_is_judged_by_what_it_asks(three_kinds: KnowledgeService) -> None:
    # before: searched together with "how much compute…?", the follow-up was an amount question too
    first = "how much compute does SSI have?"
    assert three_kinds.ask(first, reading=SHIPPED).to_json()["coverage"]["rule"] == "amount"
    follow = three_kinds.ask("and what is it for?", reading=SHIPPED, history=[first])
    assert follow.grounded, follow.text


# ---------------------------------------------------------------- feelings: "how did she feel when…?"


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("How did the king's daughter feel when the queen treated her badly?", True),
        ("how will the troll feel when he finds out?", True),
        ("How did the prince react when Kari brought him water?", True),
        ("what did the old woman feel when she saw the demons?", True),
        ("how does ilya feel about scaling?", True),
        ("Why was the king sad?", False),  # asks a cause
        ("What did the bull tell her to do?", False),
        ("How did the bull get the better of the troll?", False),
    ],
)
def test_questions_that_ask_for_a_feeling(question: str, asks: bool) -> None:
    assert asks_feeling(question) is asks


@pytest.mark.parametrize(
    ("text", "states"),
    [
        ("When she had done this she went to the pig-sty, but she wept a great deal.", True),
        ("The whole castle was overjoyed.", True),
        ("The king mourned a long time for the queen.", True),
        ('"Who has touched my forest?" cried the troll.', False),  # "cried" mostly means "said"
        ("The second stage takes place in the stroma.", False),
    ],
)
def test_what_names_a_feeling(text: str, states: bool) -> None:
    assert states_feeling(text) is states


@pytest.mark.parametrize(
    ("question", "said"),
    [
        # the best sentence by words and the cross-encoder tells what happened, the next one read how she felt
        ("how did the king's daughter feel when the queen treated her badly?", "she felt sad"),
        ("how did the king feel after his wife died?", "The king mourned a long time"),
        ("how did the prince feel about the girl at church?", "fell deeper in love with her"),
    ],
)
def test_a_feeling_question_leads_with_the_sentence_that_names_one(
    three_kinds: KnowledgeService, question: str, said: str
) -> None:
    answer = three_kinds.ask(question, reading=STORY)
    assert answer.grounded
    assert said in answer.body.splitlines()[0]


def test_a_feeling_question_on_a_reading_that_names_none_is_answered_as_usual(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask("how do plants react to very high temperatures?", reading=GUIDE)
    assert answer.grounded
    assert "Very high temperatures can slow the process" in answer.body
