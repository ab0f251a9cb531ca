"""Drafted discussion questions and poll claims, offline and through a language model: for the shipped
reading and every FairytaleQA val story (readings the drafter was not written for), each draft quotes
its passage verbatim from its own section, questions end in "?", claims are declarative sentences of
five words or more that carry a judgement, a norm or an assertion (never a line of plain events), no
text twice, enough of them for the reading's length, and the same text gives the same drafts."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.polls import model as poll_model
from bot.prompts import bank as prompt_bank
from bot.readings import drafts
from bot.readings.drafts import LLMDrafter, claim_text, draft, flatten, needed, offline_drafts, plan
from bot.readings.formats import ReadingDoc, Section, load_path
from bot.review import checks
from bot.review.checks import check_claim, check_question, text_key
from bot.review.queue import NewItem
from tests.readings_support import FAIRYTALES as SHARED
from tests.readings_support import fairytales

SHIPPED = Path(__file__).resolve().parents[1] / "knowledge" / "dwarkesh-107-ilya-sutskever.txt"
STORIES = fairytales()
READINGS = [SHIPPED, *STORIES]


def test_there_are_many_readings_to_check() -> None:
    assert len(STORIES) == 23


def assert_sound(doc: ReadingDoc, items: list[NewItem]) -> None:
    questions = [i for i in items if i.kind == "prompt"]
    claims = [i for i in items if i.kind == "claim"]
    want_questions, want_claims = needed(len(doc.sections))
    assert len(questions) >= want_questions and len(claims) >= want_claims, (len(questions), len(claims))
    assert len({text_key(i.text) for i in items}) == len(items)  # no text twice
    assert len({i.passage for i in claims}) == len(claims)
    for item in items:
        section = doc.sections[item.order]
        assert item.section == section.heading  # the heading exactly, and its order among the sections
        assert item.passage and item.passage in flatten(section.text)  # verbatim (line breaks aside)
    for q in questions:
        assert q.text.endswith("?") and check_question(q.text) == q.text
        assert prompt_bank.check_question(q.text) == q.text  # what /prompt add would accept too
    for c in claims:
        assert check_claim(c.text) == c.text and not c.text.rstrip().endswith("?")
        assert len(re.findall(r"[^\W\d_]{2,}", c.text)) >= 5
        assert poll_model.check_claim(c.text) == c.text
        words = set(drafts._words(c.text))
        assert words & (drafts.JUDGEMENT | drafts.NORM | drafts.ESSAY | drafts.PRESENT) or re.search(
            r"\bthan\b|\bso \w+ (that|as)\b", c.text
        ), c.text  # something to agree or disagree with, not a line of events
        assert not words & drafts.SAID  # not a line of dialogue with its tag


@pytest.mark.parametrize("path", READINGS, ids=lambda p: p.stem)
def test_offline_drafts_hold_for_every_reading(path: Path) -> None:
    doc = load_path(path)
    items = offline_drafts(doc)
    assert_sound(doc, items)
    assert offline_drafts(load_path(path)) == items  # deterministic: the same text, the same drafts


def test_longer_readings_get_questions_and_claims_spread_over_their_sections() -> None:
    doc = load_path(SHARED / "bamboo-cutter-moon-child.md")  # 43 sections
    items = offline_drafts(doc)
    questions = {i.order // 2 for i in items if i.kind == "prompt"}
    claims = {i.order // 3 for i in items if i.kind == "claim"}
    assert len(questions) >= math.ceil(len(doc.sections) / 2) * 0.8  # most windows of 2 sections have one
    assert len(claims) >= math.ceil(len(doc.sections) / 3) * 0.8


def test_plain_events_and_questions_never_become_claims() -> None:
    for sentence in (
        "She went out with the cows and pastured them in the forest near the hill.",
        "Then the king rode home, and the next day he sent for his daughter again.",
        "Why should a good king ever listen to such a wicked and foolish queen?",
        '"Yes," said the princess, and she went with him into the dark forest.',
    ):
        assert claim_text(sentence) is None, sentence
    made = claim_text("It is better to be kind to the poor than to be rich and cruel, the old woman thought.")
    assert made is not None and made[0].endswith(".") and made[1] in made[1]


def test_the_limits_are_the_features_own() -> None:
    assert checks.MAX_QUESTION_CHARS == prompt_bank.MAX_QUESTION_CHARS
    assert checks.MAX_CLAIM_CHARS == poll_model.MAX_CLAIM_CHARS


# ------------------------------------------------------------------ with a language model


def jobs_of(doc: ReadingDoc) -> list[tuple[str, str]]:
    chosen = plan(doc)
    return [("question", c.passage) for c, _ in chosen.questions] + [("claim", p) for _, _, p in chosen.claims]


def batches(answers: list[dict[str, object]]) -> list[str]:
    out = []
    for start in range(0, len(answers), drafts.LLM_BATCH):
        chunk = answers[start : start + drafts.LLM_BATCH]
        out.append("Here you are:\n" + json.dumps([{**a, "n": n} for n, a in enumerate(chunk, 1)]))
    return out


def good_answer(kind: str, passage: str) -> dict[str, object]:
    opening = " ".join(passage.split()[:6]).strip(',;:.!?"“”')
    if kind == "question":
        return {"text": f"What do you make of “{opening}”, and how would you have felt in that moment?"}
    return {"text": f"The moment “{opening}” is unfair to everyone in it."}


@pytest.mark.parametrize("path", [SHIPPED, SHARED / "kari-woodencoat.md"], ids=lambda p: p.stem)
def test_a_model_drafts_from_the_same_passages_and_its_drafts_are_checked(path: Path) -> None:
    doc = load_path(path)
    jobs = jobs_of(doc)
    model = FakeListChatModel(responses=batches([good_answer(k, p) for k, p in jobs]))
    made = draft(doc, model)
    assert [i.passage for i in made] == [p for _, p in jobs]  # the same passages, sections and order
    assert all(i.origin == "llm" for i in made)
    assert [i.text for i in made] == [str(good_answer(k, p)["text"]) for k, p in jobs]
    assert_sound(doc, made)


BAD_QUESTIONS = [
    {"text": "Is this the end for the king and the queen"},  # no "?"
    {"text": "@everyone what do you think about the king's choice here?"},  # a mass mention
    {"text": "Why " + "really " * 80 + "?"},  # over the length limit
    {"text": "What do you think about pineapples on pizza and football?"},  # nothing from its passage
    {"text": "Short?"},
    {"n": "x", "text": 3},  # junk
]
BAD_CLAIMS = [
    {"text": "The king was wrong to trust the queen?"},  # a claim that asks
    {"text": "Then the king rode home and went to sleep in his castle."},  # plot summary
    {"text": "@here the king is a wicked and foolish man."},  # a mass mention
    {"text": "The king is wicked " + "and cruel " * 60 + "."},  # over the length limit
    {"text": "Pineapple is always better on pizza than anything else."},  # nothing from its passage
    {"text": "Wicked king."},  # too short
]


def test_bad_drafts_from_a_model_are_rejected_and_the_offline_ones_stand() -> None:
    doc = load_path(SHARED / "kari-woodencoat.md")
    jobs = jobs_of(doc)
    answers = [(BAD_QUESTIONS if kind == "question" else BAD_CLAIMS)[i % 6] for i, (kind, _) in enumerate(jobs)]
    responses = batches(answers)
    responses[-1] = "I'm sorry, I can't help with that."  # one batch not JSON at all
    drafter = LLMDrafter(FakeListChatModel(responses=responses))
    made = drafter.drafts(doc)
    assert made == offline_drafts(doc)  # every bad draft rejected: the offline draft of its passage stands
    assert drafter.rejected == len(jobs)
    assert_sound(doc, made)


def test_a_model_that_fails_or_hangs_leaves_the_offline_drafts() -> None:
    doc = load_path(SHARED / "the-selfish-giant.md")

    class Broken(FakeListChatModel):
        def invoke(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            raise RuntimeError("provider down")

    assert draft(doc, Broken(responses=["unused"])) == offline_drafts(doc)
    slow = FakeListChatModel(responses=["[]"] * 10, sleep=2.0)
    assert LLMDrafter(slow, timeout=0.2).drafts(doc) == offline_drafts(doc)


def test_a_short_reading_still_gets_the_minimum() -> None:
    text = (
        "The old miller was a greedy man who never gave bread to the poor. His son was kind and shared "
        "what little he had. The villagers said that a kind heart is worth more than a full granary. "
        "One winter the mill burned down and the miller had nothing left. The son took him in, and the "
        "miller learned that greed had made him poor in everything that matters. He should have listened "
        "to his son much sooner, the neighbours agreed. Nobody in the village ever forgot the lesson."
    )
    doc = ReadingDoc("The Miller", (Section("The mill", text),), "md")
    items = offline_drafts(doc)
    assert sum(i.kind == "claim" for i in items) >= 3
    assert sum(i.kind == "prompt" for i in items) >= 5
    assert_sound(doc, items)


def test_a_how_to_with_few_judgements_still_gets_three_claims() -> None:
    sections = (
        Section(
            "The Starter",
            "A sourdough starter is a living culture of wild yeast kept in a jar of flour and water. Feed the "
            "starter twice a day with equal weights of rye flour and water. A healthy starter doubles in size "
            "within six hours of a feeding.",
        ),
        Section(
            "Baking the Loaf",
            "Bake the loaf in a Dutch oven preheated to 250 degrees for twenty minutes with the lid on. Let the "
            "bread cool on a rack for at least an hour before slicing it, or the crumb turns gummy.",
        ),
    )
    doc = ReadingDoc("Sourdough", sections, "md")
    items = offline_drafts(doc)
    assert sum(i.kind == "claim" for i in items) >= 3 and sum(i.kind == "prompt" for i in items) >= 5
    for item in items:
        assert item.passage in flatten(doc.sections[item.order].text)
        assert (check_question if item.kind == "prompt" else check_claim)(item.text) == item.text


def test_a_dialogue_question_quotes_the_words_spoken_not_the_narration_between_two_quotes() -> None:
    from bot.readings.drafts import _fragment

    passage = (
        '"Yes," said the king\'s daughter, "indeed I will be careful, and not touch the least thing, '
        'just as you have told me." But when they entered the forest, it was so thick.'
    )
    fragment = _fragment(passage, "dialogue")
    assert "said" not in fragment and fragment in passage and len(fragment.split()) >= 4
