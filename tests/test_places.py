"""Questions about a place in the reading: a section by number, the beginning, the end, the outline."""

from __future__ import annotations

import pytest

from bot.knowledge.places import Place, identity_name, place_of, roman


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("what happens in part 3?", Place("section", 3)),
        ("What's chapter IV about?", Place("section", 4)),
        ("summarize part 2", Place("section", 2)),
        ("what's going on in ch. 12", Place("section", 12)),
        ("What happens in Part I?", Place("section", 1)),
        ("in part 15, what does the cook say?", Place("section", 15, ("cook",))),
        ("what happens in the last part?", Place("section", -1)),
        ("give me a recap of the first chapter", Place("section", 1)),
        ("what happens in part two?", Place("section", 2)),
        ("in the last chapter, why does she cry?", Place("section", -1, ("cry",))),
        ("how does the story end?", Place("ending")),
        ("what happens at the end?", Place("ending")),
        ("How does it begin?", Place("beginning")),
        ("what happens at the start of the book?", Place("beginning")),
        ("what sections does the reading have?", Place("outline")),
        ("list the chapters", Place("outline")),
        ("table of contents?", Place("outline")),
    ],
)
def test_a_question_that_names_a_place_is_recognised(question, place):
    assert place_of(question) == place


@pytest.mark.parametrize(
    "question",
    [
        # FairytaleQA's own questions that say "end" or "begin": ordinary questions
        "Why did the bull have doubt as to whether it would end well?",
        "What did the emperor do when the dance had ended?",
        "Why did Tephany begin to wash the clothes with great vigour?",
        "What did the emperor do in the end?",  # asks about the emperor, not about the end
        "which part I liked most",  # a lone I is a pronoun
        "what part did the cat play?",
        "the first part of his argument is what?",  # a part of something else, not of the reading
        "who was the first person the bull met?",
        "what is the structure of the argument?",
        "what's the section on value functions about?",  # searched: its words name the topic
    ],
)
def test_ordinary_questions_are_not_places(question):
    assert place_of(question) is None


def test_roman_numerals():
    assert [roman(r) for r in ("I", "IV", "IX", "XII", "XL", "XC")] == [1, 4, 9, 12, 40, 90]


def test_who_is_questions_name_what_they_ask_about():
    assert identity_name("Who is Kari?") == ["kari"]
    assert identity_name("who's the Mester Stoorworm") == ["mester", "stoorworm"]
    assert identity_name("Who was Ebe Ashpeter?") == ["ebe", "ashpeter"]
    for question in ("Who was the king's only daughter?", "Who was in the chariot?", "what is SSI?", "who is he?"):
        assert identity_name(question) is None, question
