"""A phrase a member quotes that the reading never uses is declined, and said to be.

"what does 'thinking fast and slow' say about emotions?" was answered with the shipped reading's
emotions line as if it were that book's view. Held on three kinds of reading: the expository
guide (``tests/data/photosynthesis.md``), a FairytaleQA story and the shipped summary.
"""

from __future__ import annotations

import pytest

from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.quotes import quoted_phrases, unknown_quote
from bot.knowledge.service import KnowledgeService
from bot.knowledge.terms import content_terms

GUIDE = "photo"
STORY = "kari-woodencoat"
SHIPPED = "dwarkesh-107-ilya-sutskever"


@pytest.mark.parametrize(
    ("question", "phrases"),
    [
        ("what does 'thinking fast and slow' say?", ["thinking fast and slow"]),
        ('when he says "scaling is over", what does he mean?', ["scaling is over"]),
        ("the “straight shot” phrase and the ‘15-year-old’ idea?", ["straight shot", "15-year-old"]),
        ("what's ilya's view on ('jaggedness')?", ["jaggedness"]),
        # apostrophes are not quotation marks
        ("what's ilya's view on the kids' toys?", []),
        ("don't the king's sons know?", []),
    ],
)
def test_quoted_phrases(question: str, phrases: list[str]) -> None:
    assert quoted_phrases(question) == phrases


def test_a_quote_is_unknown_when_one_of_its_words_is_not_the_readings() -> None:
    known = set(content_terms("the age of scaling gave way to an age of research"))
    assert unknown_quote("what is 'the bitter lesson'?", known) == "the bitter lesson"
    assert unknown_quote("when he says 'scaling is over'", known) == ""  # "over" is a stopword
    assert unknown_quote("what is the 'age of reserch'?", known, lambda s: s.replace("reserch", "research")) == ""
    assert unknown_quote("no quotes at all about bitterness", known) == ""


@pytest.mark.parametrize(
    ("question", "reading", "phrase"),
    [
        ("what does 'thinking fast and slow' say about emotions in decision making", SHIPPED, "thinking fast and slow"),
        ("what's ilya's view on \"the bitter lesson\"?", SHIPPED, "the bitter lesson"),
        ("is the 'calvin-benson-bassham pathway' the same thing as the calvin cycle?", GUIDE, None),
        ("what did the 'fairy godmother' give kari for the church?", STORY, "fairy godmother"),
        ("what did the troll say when he was 'defeated by the dragon'?", STORY, "defeated by the dragon"),
        ("why did the prince want the 'glass slipper' back?", STORY, None),  # the model declines it itself
    ],
)
def test_a_phrase_the_reading_never_uses_is_declined(
    three_kinds: KnowledgeService, question: str, reading: str, phrase: str | None
) -> None:
    answer = three_kinds.ask(question, reading=reading)
    assert not answer.grounded, answer.text
    if phrase is not None:  # the coverage model called it covered; the quote decided
        assert answer.text.startswith(f"{NOT_COVERED} It never mentions “{phrase}”.")
        out = answer.to_json()
        assert out["coverage"]["rule"] == "quote"
        assert out["coverage"]["score"] >= out["coverage"]["threshold"]
        assert answer.sources  # the closest sections are still listed


@pytest.mark.parametrize(
    ("question", "reading", "said"),
    [
        ("what does 'age of research' actually mean here", SHIPPED, "age of research"),
        ("the 'straight shot' phrase, is that about skipping the in-between products?", SHIPPED, "straight-shot"),
        ("why would humans being 'passive beneficiaries' be a bad outcome", SHIPPED, "passive beneficiaries"),
        ("what does 'age of reserch' mean", SHIPPED, "age of research"),  # misspelt inside the quote
        ('why does she say "From Towelland!"?', STORY, "From Towelland"),
        ("why is oxygen called a 'by-product'?", GUIDE, "by-product"),
    ],
)
def test_a_phrase_the_reading_uses_is_answered(
    three_kinds: KnowledgeService, question: str, reading: str, said: str
) -> None:
    answer = three_kinds.ask(question, reading=reading)
    assert answer.grounded, answer.text
    assert said in answer.body


def test_a_quote_from_further_on_is_not_said_to_be_missing(three_kinds: KnowledgeService) -> None:
    # the group has read Kari Woodencoat up to part 3; "Washwaterland" comes in part 18
    answer = three_kinds.ask("where is 'Washwaterland'?", reading=STORY, upto=2)
    assert "never mentions" not in answer.text
    assert answer.further and not answer.grounded  # "That comes further on…"
