"""A "what is X?" question is answered where the reading says what X is.

Retrieval finds the sentences that use a term most, and in an expository reading those are
often sentences that use it, not the one that explains it ("what is the calvin cycle?" quoted
"Some G3P leaves the cycle…"). Held on three kinds of reading: the expository guide
(``tests/data/photosynthesis.md``), a FairytaleQA story and the shipped summary.
"""

from __future__ import annotations

import pytest

from bot.knowledge.definitions import Definer, defined_term, heading_names
from bot.knowledge.service import KnowledgeService

GUIDE = "photo"
STORY = "kari-woodencoat"
SHIPPED = "dwarkesh-107-ilya-sutskever"


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("what is chlorophyll?", ["chlorophyll"]),
        ("whats a carbon sink", ["carbon", "sink"]),
        ("What does SSI stand for?", ["ssi"]),
        ("what does he mean by functional superintelligence", ["functional", "superintelligence"]),
        ("what does 'age of research' actually mean here", ["age", "of", "research"]),
        ("define limiting factor", ["limiting", "factor"]),
        ("what's meant by the light-dependent reactions?", ["light", "dependent", "reactions"]),
        ("what does 'by-product' refer to?", ["by", "product"]),  # a hyphenated word is no stopword
        ("list the limiting factors", ["limiting", "factors"]),
        ("what exactly is a value function?", ["value", "function"]),
        ("what's the stroma again?", ["stroma"]),
        ("remind me what the stroma is", ["stroma"]),
        ("explain the calvin cycle", ["calvin", "cycle"]),
        ("ok dumb q but what is the stroma?", None),  # chatter is left out by the caller
    ],
)
def test_the_term_a_definitional_question_asks_about(question: str, term: list[str] | None) -> None:
    assert defined_term(question) == term


@pytest.mark.parametrize(
    "question",
    [
        "what is this about?",  # a gist question
        "what is it?",
        "What is Kari's job?",  # about Kari, not what a job is
        "What is SSI's straight-shot plan?",
        "What is a value function, in machine learning terms, according to the episode?",  # asks more
        "what did the troll say?",
        "What was the name of the king's daughter?",
        "explain why leaves are green",  # asks a cause
    ],
)
def test_questions_that_ask_something_else(question: str) -> None:
    assert defined_term(question) is None


@pytest.mark.parametrize(
    ("term", "text", "strength"),
    [
        (["photosynthesis"], "Photosynthesis is the process by which green plants turn light into energy.", 2),
        (["ssi"], "Ilya, now leading SSI (Safe Superintelligence Inc.), discusses the transition.", 2),
        (["value", "function"], "Humans learn from experience, using internal feedback (value functions).", 2),
        (["stroma"], "Stacks of membranes, surrounded by a fluid called the stroma.", 2),
        (["advantages"], "Advantages: insulation from short-term pressures.", 2),
        (["by", "product"], "They build sugars and release oxygen as a by-product.", 2),
        (["age", "of", "research"], "The field is entering a new “age of research,” where innovation leads.", 2),
        (["chlorophyll"], "The green pigment chlorophyll sits in the thylakoid membranes.", 1),
        # uses the term without saying what it is
        (["value", "function"], "While not yet widely used, value functions are expected to matter more.", 0),
        (["nadph"], "Using the ATP and NADPH from the first stage, the cycle makes sugar.", 0),
        (["chlorophyll"], "Chlorophyll absorbs photons.", 0),
        (["stroma"], "The second stage takes place in the stroma.", 0),
    ],
)
def test_how_strongly_a_sentence_defines_a_term(term: list[str], text: str, strength: int) -> None:
    assert Definer(term).strength(text) == strength


def test_a_heading_names_a_term_but_not_as_a_possessive() -> None:
    assert heading_names("The Calvin cycle", ["calvin", "cycle"])
    assert heading_names("The role of emotions and value functions", ["value", "function"])
    assert heading_names("Limiting factors", ["limiting", "factor"])
    assert not heading_names("SSI’s approach: straight-shotting superintelligence", ["ssi"])
    assert not heading_names("Part 3", ["calvin", "cycle"])


@pytest.mark.parametrize(
    ("question", "reading", "section", "said"),
    [
        # the section headed by the term: its opening (no sentence of it defines the term)
        ("what is the calvin cycle?", GUIDE, "The Calvin cycle", "The second stage takes place in the stroma"),
        ("define limiting factor", GUIDE, "Limiting factors", "The rate of photosynthesis depends on"),
        ("list the limiting factors", GUIDE, "Limiting factors", "The rate of photosynthesis depends on"),
        ("what is a value function?", SHIPPED, "The role of emotions and value functions", "biological value function"),
        # the sentence that defines it, wherever it is
        ("what is chlorophyll?", GUIDE, "Where it happens", "The green pigment chlorophyll"),
        ("What does SSI stand for?", SHIPPED, "Summary", "SSI (Safe Superintelligence Inc.)"),
        ("what is photosynthesis?", GUIDE, "Overview", "Photosynthesis is the process"),
        # declined by the coverage model before: the guide's only line on it says what the by-product is
        ("what does 'by-product' refer to?", GUIDE, "Overview", "release oxygen as a by-product"),
    ],
)
def test_a_definitional_question_quotes_where_the_reading_says_what_it_is(
    three_kinds: KnowledgeService, question: str, reading: str, section: str, said: str
) -> None:
    answer = three_kinds.ask(question, reading=reading)
    assert answer.grounded, answer.text
    assert answer.sources[0].section == section
    assert said in answer.body.splitlines()[0]
    assert answer.to_json()["coverage"]["rule"] == "definition"


def test_a_term_the_reading_never_explains_is_still_declined(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask("what is chain of thought prompting", reading=SHIPPED)
    assert not answer.grounded
    assert "rule" not in answer.to_json()["coverage"]


def test_a_term_a_story_only_uses_is_decided_as_before(three_kinds: KnowledgeService) -> None:
    # "you will find a wooden coat": the story uses the term, it says nothing of what it is
    answer = three_kinds.ask("what is a wooden coat?", reading=STORY)
    assert "rule" not in answer.to_json()["coverage"]


def test_a_definitional_follow_up_names_its_own_term(three_kinds: KnowledgeService) -> None:
    first = "what happens in the light-dependent reactions?"
    follow = three_kinds.ask("what is the stroma?", reading=GUIDE, history=[first])
    assert follow.grounded
    assert "called the stroma" in follow.body
