"""A third kind of reading: a short expository guide whose Overview has several sentences and
whose headings name their topics (``tests/data/photosynthesis.md``, written for these tests).

Gist questions are answered from where a reading states its point: the overview's opening for the
reading as a whole, the named section's opening for one topic of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.coverage import FEATURES
from bot.knowledge.service import KnowledgeService

GUIDE = "photo"
LETTER = "letter"  # tests/data/letter.txt: plain text, one section under its title line
OPENING = (
    "> Photosynthesis is the process by which green plants, algae and some bacteria turn light energy"
    " into chemical energy."
)


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory, encoder: object):
    from bot.settings import Settings

    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path_factory.mktemp("guide"))}, dotenv=None)
    service = KnowledgeService.open(settings)
    data = Path(__file__).with_name("data")
    for path, reading in ((data / "photosynthesis.md", GUIDE), (data / "letter.txt", LETTER)):
        report = service.ingest([path], reading=reading)
        assert report.added and not report.failed
    yield service
    service.close()


@pytest.mark.parametrize(
    "question",
    [
        "tl;dr?",
        "what's the main argument of this reading?",
        "can someone give me the one-paragraph version I didn't finish it",
        "explain like I'm 5",
        "eli5 pls",
    ],
)
def test_the_gist_of_the_reading_is_its_overview_s_opening(guide: KnowledgeService, question: str) -> None:
    # before: the overview sentence that best matched "tl;dr" ("Almost all life on Earth depends on it…")
    answer = guide.ask(question, reading=GUIDE)
    assert answer.grounded, answer.text
    assert answer.sources[0].section == "Overview"
    assert answer.body == OPENING


def test_a_gist_whose_words_pick_out_one_overview_sentence_quotes_that_one(guide: KnowledgeService) -> None:
    answer = guide.ask("in a nutshell, what's the main point", reading=GUIDE)
    assert answer.body == OPENING
    tilted = guide.retriever.search("tl;dr, the by-product bit?", reading=GUIDE)
    assert tilted.gist and tilted.hits[0].section == "Overview"
    assert "by-product" in tilted.hits[0].passages[0].text


@pytest.mark.parametrize(
    ("question", "section", "opening"),
    [
        ("give me a summary of the calvin cycle", "The Calvin cycle", "The second stage takes place in the stroma"),
        ("eli5 the calvin cycle", "The Calvin cycle", "The second stage takes place in the stroma"),
        ("tl;dr of the limiting factors part", "Limiting factors", "The rate of photosynthesis depends on"),
    ],
)
def test_the_gist_of_one_topic_is_its_section_s_opening(
    guide: KnowledgeService, question: str, section: str, opening: str
) -> None:
    # before: the Overview, whatever topic the question named
    answer = guide.ask(question, reading=GUIDE)
    assert answer.grounded, answer.text
    assert answer.sources[0].section == section
    assert answer.body.startswith(f"> {opening}")


def test_a_gist_of_something_the_reading_never_mentions_is_declined(guide: KnowledgeService) -> None:
    for question in ("summary of the great gatsby?", "eli5 the french revolution"):
        answer = guide.ask(question, reading=GUIDE)
        assert not answer.grounded, answer.text
        assert answer.text.startswith(NOT_COVERED)


def test_the_gist_of_a_reading_of_one_section_without_a_summary_is_its_opening(guide: KnowledgeService) -> None:
    # before: "The reading has no summary; its sections:" and a list of one
    answer = guide.ask("tl;dr?", reading=LETTER)
    assert answer.grounded
    assert answer.body == (
        "The reading has no summary; it opens:\n> I have always believed that the best thinking is done on foot."
    )
    assert answer.citation == "Source: “A Letter on Walking” (letter)"
    assert [s.section for s in answer.sources] == ["A Letter on Walking"]
    listed = guide.ask("what sections does it have?", reading=LETTER)  # asked for the list, it lists
    assert listed.body.startswith("The reading's sections:\n• A Letter on Walking: ")


def test_json_says_which_rule_grounded_an_answer_the_coverage_model_did_not_decide(guide: KnowledgeService) -> None:
    # "tl;dr?" names nothing the model could find covered (its score is below the threshold): the gist
    # rule answers it, and the JSON says so rather than showing a grounded answer under the threshold
    gist = guide.ask("tl;dr?", reading=LETTER).to_json()
    assert gist["grounded"] is True
    assert gist["coverage"]["rule"] == "gist"
    assert gist["coverage"]["score"] < gist["coverage"]["threshold"]
    assert guide.ask("what sections does it have?", reading=GUIDE).to_json()["coverage"]["rule"] == "place"
    for question in ("why are leaves green?", "summary of the calvin cycle", "how do animals digest food?"):
        payload = guide.ask(question, reading=GUIDE).to_json()
        assert set(payload["coverage"]) == {"score", "threshold"}, question  # the model decided
        assert payload["grounded"] is (payload["coverage"]["score"] >= payload["coverage"]["threshold"]), question


def test_a_reading_of_one_section_is_decided_without_a_margin(guide: KnowledgeService) -> None:
    # the margin (how far the best section stands above the next) has no next section here: it is left
    # out, and the model reads it as its fitted mean
    retrieval = guide.retriever.search("what did his grandfather say the first mile was for?", reading=LETTER)
    assert "margin" not in retrieval.features and retrieval.covered
    model = guide.retriever.coverage
    neutral = dict(retrieval.features, margin=model.mean[FEATURES.index("margin")])
    assert model.probability(retrieval.features) == pytest.approx(model.probability(neutral))


def test_the_margin_is_the_best_sections_lead_over_the_next(guide: KnowledgeService) -> None:
    retrieval = guide.retriever.search("where does the calvin cycle happen?", reading=GUIDE)
    first, second = retrieval.hits[:2]
    assert retrieval.features["margin"] == pytest.approx(first.score - second.score) and first.score > second.score
