"""A question about how two things relate quotes both, each from its own section.

Before: "how do the light-dependent reactions and the Calvin cycle fit together?" quoted one of
the two sections (the one that matched more of its words). Held on the expository guide
(``tests/data/photosynthesis.md``) and the shipped summary; no FairytaleQA question is phrased so
(none of its 1,025 replies changes).
"""

from __future__ import annotations

import pytest

from bot.knowledge.relations import relation_ends
from bot.knowledge.retrieval import question_parts
from bot.knowledge.service import KnowledgeService

GUIDE = "photo"
SHIPPED = "dwarkesh-107-ilya-sutskever"


@pytest.mark.parametrize(
    ("question", "ends"),
    [
        (
            "how do the straight-shot plan and the 15-year-old idea fit together?",
            ["the straight-shot plan", "the 15-year-old idea"],
        ),
        (
            "How is the eval-vs-reality problem related to the most fundamental problem in AI?",
            ["the eval-vs-reality problem", "the most fundamental problem in AI"],
        ),
        ("what's the difference between the thylakoids and the stroma?", ["the thylakoids", "the stroma"]),
        ("compare chlorophyll and RuBisCO", ["chlorophyll", "RuBisCO"]),
        (
            "how does his taste connect to the idea that humans learn better, in his view?",
            ["his taste", "the idea that humans learn better"],
        ),
    ],
)
def test_the_two_ends_of_a_relation(question: str, ends: list[str]) -> None:
    assert relation_ends(question) == ends
    assert question_parts(question) == ends


@pytest.mark.parametrize(
    "question",
    [
        "compare how humans and RL agents get feedback",  # the ends share what follows
        "How did the king and queen feel when they saw her?",
        "What is the link?",
        "how does it end?",
    ],
)
def test_other_questions_name_no_relation(question: str) -> None:
    assert relation_ends(question) is None


@pytest.mark.parametrize(
    ("question", "sections"),
    [
        (
            "how do the light-dependent reactions and the Calvin cycle fit together?",
            {"The light-dependent reactions", "The Calvin cycle"},
        ),
        (
            "how is the Calvin cycle connected to the light-dependent reactions?",
            {"The light-dependent reactions", "The Calvin cycle"},
        ),
        ("what's the difference between the thylakoids and the stroma?", {"Where it happens", "The Calvin cycle"}),
        ("compare chlorophyll and RuBisCO", {"The light-dependent reactions", "The Calvin cycle"}),
    ],
)
def test_a_relation_told_in_two_sections_quotes_both(
    three_kinds: KnowledgeService, question: str, sections: set[str]
) -> None:
    answer = three_kinds.ask(question, reading=GUIDE)
    assert answer.grounded, answer.text
    assert {s.section for s in answer.sources[:2]} == sections
    assert all(f"“{s}”" in answer.citation for s in sections)
    assert answer.body.count("> ") == 2 and "doesn't cover" not in answer.body


def test_a_relation_told_in_one_section_quotes_it(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask(
        "what is the relationship between temperature and the rate of photosynthesis?", reading=GUIDE
    )
    assert answer.grounded and answer.sources[0].section == "Limiting factors"
    assert answer.citation.count("“") == 1


def test_a_relation_the_reading_does_not_cover_is_declined(three_kinds: KnowledgeService) -> None:
    assert not three_kinds.ask("what's the difference between a cat and a dog?", reading=GUIDE).grounded
    assert not three_kinds.ask("what's the difference between GPT-4 and GPT-5?", reading=SHIPPED).grounded


def test_on_the_shipped_reading_both_ends_are_quoted(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask(
        "how is research taste related to the idea that humans learn with far less data?",
        reading=SHIPPED,
    )
    assert answer.grounded
    assert {s.section for s in answer.sources[:2]} == {
        "Research taste and top-down belief",
        "Pre-training vs. human learning",
    }


# ------------------------------------------------------------------ a choice: "is it X or Y?"


@pytest.mark.parametrize(
    ("question", "ends"),
    [
        (
            "is the main issue generalization or compute?",
            ["is the main issue generalization", "is the main issue compute"],
        ),
        (
            "does the bull fight the troll or the giant?",
            ["does the bull fight the troll", "does the bull fight the giant"],
        ),
        (
            "which matters more to him, pretraining or RL?",
            ["which matters more to him, pretraining", "which matters more to him, RL"],
        ),
        (
            "does the calvin cycle happen in the stroma or the thylakoids?",
            ["does the calvin cycle happen in the stroma", "does the calvin cycle happen in the thylakoids"],
        ),
    ],
)
def test_the_two_alternatives_of_a_choice(question: str, ends: list[str]) -> None:
    assert relation_ends(question) == ends


@pytest.mark.parametrize(
    "question",
    [
        "How should future AI be deployed, like a finished product or like a learner?",  # asks how
        "what's the bottleneck now, chips or ideas?",  # asks what; the alternatives illustrate
        "is ilya for or against releasing products early?",  # no things to search
        "should humans merge with AI or stay separate?",
        "is ilya still at openai or did he start something else",  # two questions, not a choice
        "did they talk about o1 or other reasoning models",
    ],
)
def test_questions_that_are_no_choice(question: str) -> None:
    assert relation_ends(question) is None


def test_a_choice_told_in_two_sections_quotes_both(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask("does the calvin cycle happen in the stroma or the thylakoids?", reading=GUIDE)
    assert answer.grounded
    assert {s.section for s in answer.sources[:2]} == {"The Calvin cycle", "The light-dependent reactions"}
    assert "takes place in the stroma" in answer.body and "in the thylakoid membranes" in answer.body


def test_a_choice_on_the_shipped_reading_quotes_what_it_says_of_each(three_kinds: KnowledgeService) -> None:
    answer = three_kinds.ask("is the main issue generalization or compute?", reading=SHIPPED)
    assert answer.grounded
    assert "poor generalization" in answer.body and "Compute remains important" in answer.body
