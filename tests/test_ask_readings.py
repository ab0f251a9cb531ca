"""Two kinds of reading in one index: the shipped summary and a FairytaleQA story.

Nothing readbot does is fitted to the shipped reading: a story with ``## Part N``
sections, no summary and character names is answered, declined and summarised by the
same rules.
"""

from __future__ import annotations

import json

import pytest

from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.service import KnowledgeService

STORY = "kari-woodencoat"
SHIPPED = "dwarkesh-107-ilya-sutskever"


@pytest.fixture(scope="module")
def two_readings(shared_dir, tmp_path_factory):
    from bot.settings import Settings

    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path_factory.mktemp("two"))}, dotenv=None)
    service = KnowledgeService.open(settings)
    service.ensure_ingested()
    report = service.ingest([shared_dir / "eval" / "fairytaleqa-val" / f"{STORY}.md"], reading=STORY)
    assert report.added and not report.failed
    yield service
    service.close()


@pytest.fixture(scope="module")
def story_questions(shared_dir):
    path = shared_dir / "eval" / "fairytaleqa-val" / "questions.jsonl"
    return [q for q in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if q["story"] == STORY]


def test_a_character_named_in_the_title_is_searched_not_stripped(two_readings):
    # the name is what points to the story: "What did do?" would point nowhere
    for question in ("What did Kari do?", "Where did Kari Woodencoat go?"):
        answer = two_readings.ask(question)
        assert answer.sources[0].reading == STORY, question


def test_most_of_the_story_s_questions_find_their_part(two_readings, story_questions):
    assert len(story_questions) >= 30
    top3 = answered = 0
    for q in story_questions:
        answer = two_readings.ask(q["question"], reading=STORY)
        sections = [s.section for s in answer.sources]
        assert all(s.startswith("Part ") for s in sections)
        top3 += bool(set(sections[:3]) & set(q["gold"]))
        answered += answer.grounded
    assert top3 >= 0.75 * len(story_questions), top3
    assert answered >= 0.95 * len(story_questions), answered


def test_without_reading_the_story_s_questions_go_to_the_story(two_readings, story_questions):
    right = sum(
        bool(a.sources) and a.sources[0].reading == STORY
        for a in (two_readings.ask(q["question"]) for q in story_questions)
    )
    assert right >= 0.9 * len(story_questions), right


def test_reading_is_strict_a_question_about_the_other_reading_is_declined(two_readings):
    for question in ("What is SSI's straight-shot plan?", "Why do humans generalize better than models?"):
        answer = two_readings.ask(question, reading=STORY)
        assert answer.grounded is False, answer.text
        assert answer.text.startswith(NOT_COVERED)
        assert answer.sources and all(s.reading == STORY for s in answer.sources)
        assert len({s.section for s in answer.sources}) == len(answer.sources) <= 3
        assert two_readings.ask(question).sources[0].reading == SHIPPED


def test_a_story_question_asked_of_the_summary_is_declined(two_readings):
    answer = two_readings.ask("Why did the queen let the king's daughter starve?", reading=SHIPPED)
    assert answer.grounded is False


@pytest.mark.parametrize("reading", [SHIPPED, STORY])
def test_a_gist_question_about_another_work_is_decided_like_any_other(two_readings, reading):
    for question in (
        "summary of the great gatsby?",
        "key takeaways from the moby dick chapter?",
        "give me the short version of the great gatsby",
    ):
        answer = two_readings.ask(question, reading=reading)
        assert answer.grounded is False, answer.text  # not the reading's summary or overview
        assert answer.text.startswith(NOT_COVERED) and answer.sources
    for question in (
        "tl;dr?",
        "give me an overview of the reading",
        "what's the main argument of this episode?",
        "can someone give me the one-paragraph version, I didn't finish it 😅",  # as members ask
        "can you sum it up for me",
        "cliffnotes?",
    ):
        answer = two_readings.ask(question, reading=reading)
        assert answer.grounded, (question, answer.text)
        if reading == STORY:
            assert answer.body.startswith("The reading has no summary; its sections:")
        else:
            assert answer.sources[0].section == "Summary"


def test_question_frame_words_are_never_spelling_corrected(two_readings):
    lexical = two_readings.retriever.lexical
    # the story never uses "reading" but uses "leading": a frame word stays as typed
    assert lexical.corrected("give me an overview of the reading") == "give me an overview of the reading"
    assert "pre-training" in lexical.corrected("what does he say abot pre-trainng")


def test_chat_shorthand_is_spelled_out_before_the_search(two_readings):
    from bot.knowledge.spelling import spelled_out

    assert spelled_out("do u have to wait til the end, b/c wat if ur wrong? pls") == (
        "do you have to wait until the end, because what if your wrong? please"
    )
    for kept in ("Part U", "R&D costs", "a u-turn", "you are right", "dr. who's view", "the letter u's shape"):
        assert spelled_out(kept) == kept
    assert (
        spelled_out("what does r mean here, is it ur guess?", used={"r"}) == "what does r mean here, is it your guess?"
    )
    lexical = two_readings.retriever.lexical
    assert (
        lexical.corrected("wat did the bull tell her b4 the forest") == "what did the bull tell her before the forest"
    )
    typed = two_readings.ask("wat did the bull tell the king's daughter b4 they entered the forest?", reading=STORY)
    spelled = two_readings.ask(
        "What did the bull tell the king's daughter before they entered the forest?", reading=STORY
    )
    assert typed.grounded and typed.sources[0].section == spelled.sources[0].section


def test_gist_of_a_reading_without_a_summary_lists_its_sections(two_readings):
    answer = two_readings.ask("tl;dr?", reading=STORY)
    assert answer.grounded
    lines = answer.body.splitlines()
    assert lines[0] == "The reading has no summary; its sections:"
    assert lines[1].startswith("• Part 1: ONCE upon a time there was a king")
    assert [s.section for s in answer.sources] == ["Part 1", "Part 2", "Part 3"]
    gist = two_readings.ask("What is the gist of this episode?", reading=SHIPPED)
    assert gist.sources[0].section == "Summary"


def test_who_is_a_name_is_answered_where_the_reading_introduces_it(two_readings):
    kari = two_readings.ask("Who is Kari?", reading=STORY)
    assert kari.grounded and kari.sources[0].section == "Part 15"
    # first named in the bull's instructions (no answer to "who is she?"), then introduced
    assert kari.body == "> She asked for a place in the kitchen, and said her name was Kari Woodencoat."
    assert two_readings.ask("who is kari", reading=STORY).body == kari.body  # typed in lower case
    # "king" is a word the story writes in lower case, not a name: searched like any question
    assert two_readings.retriever.search("who is kari?", reading=STORY).introduction
    assert not two_readings.retriever.search("Who is the King?", reading=STORY).introduction
    ilya = two_readings.ask("who's Ilya?", reading=SHIPPED)
    assert ilya.grounded and ilya.sources[0].section == "Summary"
    assert ilya.body.startswith("> Ilya Sutskever, co-founder of OpenAI")
    scores = [s.score for s in ilya.sources]
    assert scores == sorted(scores, reverse=True) and len({s.section for s in ilya.sources}) == len(scores)


def test_who_is_a_name_never_looks_past_the_group_s_progress_or_outside_the_reading(two_readings):
    order = {s.label: s.order for s in two_readings.sections(STORY)}
    early = two_readings.ask("Who is Kari?", reading=STORY, upto=order["Part 14"])
    assert all(order[s.section] <= order["Part 14"] for s in early.sources)
    assert "Part 15" not in early.text
    assert not two_readings.ask("Who is Elon Musk?", reading=SHIPPED).grounded
    assert not two_readings.ask("Who is Kari?", reading=SHIPPED).grounded  # a name of the other reading


def _story_text(shared_dir):
    return (shared_dir / "eval" / "fairytaleqa-val" / f"{STORY}.md").read_text(encoding="utf-8")


def test_a_section_named_by_number_is_answered_from_that_section(two_readings, shared_dir):
    part3 = two_readings.ask("What happens in part 3?", reading=STORY)
    assert part3.grounded and part3.sources[0].section == "Part 3"
    opening = part3.body.splitlines()[0].removeprefix("> ")
    assert _story_text(shared_dir).split("## Part 3\n\n", 1)[1].startswith(opening)  # its opening line
    last = two_readings.ask("what happens in the last part?", reading=STORY)
    assert last.sources[0].section == "Part 26"
    cook = two_readings.ask("In part 15, what does the cook say?", reading=STORY)
    assert cook.sources[0].section == "Part 15" and "said the cook" in cook.body
    third = two_readings.ask("what's in section 3?", reading=SHIPPED)  # headings without numbers: the third
    assert third.sources[0].section == "Pre-training vs. human learning"
    missing = two_readings.ask("What's chapter XXX about?", reading=STORY)
    assert not missing.grounded
    assert missing.body == (
        "The reading has no section of that number. "
        "Its sections: Part 1, Part 2, Part 3, Part 4, Part 5, Part 6, … (26 in all)."
    )


def test_the_beginning_the_end_and_the_outline_of_a_reading(two_readings, shared_dir):
    text = _story_text(shared_dir)
    begin = two_readings.ask("How does the story begin?", reading=STORY)
    assert begin.sources[0].section == "Part 1"
    assert text.split("## Part 1\n\n", 1)[1].startswith(begin.body.removeprefix("> "))
    end = two_readings.ask("how does it end?", reading=STORY)
    assert end.grounded and end.sources[0].section == "Part 26"
    assert "they celebrated their wedding" in end.body  # the last lines, not "the end of the forest"
    outline = two_readings.ask("What sections does the story have?", reading=STORY)
    lines = outline.body.splitlines()
    assert outline.grounded and lines[0] == "The reading's sections:"
    assert lines[1].startswith("• Part 1: ONCE upon a time") and lines[-1] == "(and 14 more sections)"


def test_a_place_past_the_group_s_progress_is_not_told(two_readings):
    order = {s.label: s.order for s in two_readings.sections(STORY)}
    upto = order["Part 5"]
    for question in ("how does it end?", "What happens in part 9?"):
        answer = two_readings.ask(question, reading=STORY, upto=upto)
        assert answer.further and not answer.grounded and not answer.sources, question
    assert two_readings.ask("What happens in part 3?", reading=STORY, upto=upto).sources[0].section == "Part 3"
    outline = two_readings.ask("list the parts", reading=STORY, upto=upto)
    assert [ln.split(":")[0] for ln in outline.body.splitlines()[1:]] == [f"• Part {n}" for n in range(1, 6)]


def test_a_place_or_a_name_asked_in_a_thread_does_not_lean_on_it(two_readings):
    history = ["What does the bull tell the king's daughter to do?"]
    end = two_readings.ask("and how does it end?", reading=STORY, history=history)
    assert end.sources[0].section == "Part 26" and "they celebrated their wedding" in end.body
    part = two_readings.ask("and then what happens in part 4?", reading=STORY, history=history)
    assert part.sources[0].section == "Part 4"


def test_a_line_that_introduces_what_follows_is_quoted_with_it(two_readings):
    answer = two_readings.ask("What happens after the prince finds the golden shoe?", reading=STORY)
    lines = answer.body.splitlines()
    assert lines[0] == "> But when the prince wanted to hand her the golden shoe, she said:"
    assert lines[1].startswith('> "Be there light before me, and darkness behind,')  # 32 words together


def test_a_question_about_what_came_after_an_event_is_quoted_with_what_followed(two_readings):
    """The best sentence names the event asked after; the next one tells what followed (33 words
    together: past the usual pair's budget, within a sequel's)."""
    rushing = "> But now the troll with the nine heads came rushing up, and he was so frightful"
    after = two_readings.ask("what did the troll with nine heads shout after he came rushing up?", reading=STORY)
    lines = after.body.splitlines()
    assert lines[0].startswith(rushing) and lines[1] == '> "Who has touched my forest?" he shouted.'
    alone = two_readings.ask("How frightful was the troll with nine heads when he came rushing up?", reading=STORY)
    assert alone.body.startswith(rushing) and len(alone.body.splitlines()) == 1
