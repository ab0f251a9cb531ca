"""A name only one reading uses says which reading a question is about.

Asked without ``--reading`` over a syllabus of two fairy tales, "How did the King reward
Assipattle?" was answered from *The Battle of the Birds*, whose king also offers a reward; asked of
that story with ``--reading``, it was answered as covered. A reading's names are derived at ingest
(words it always capitalises, once mid-sentence), so nothing here knows a reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.lexical import names_in
from bot.knowledge.service import KnowledgeService

ASSIPATTLE = "assipattle-and-the-mester-stoorworm"
BIRDS = "the-battle-of-the-birds"
SHIPPED = "dwarkesh-107-ilya-sutskever"


@pytest.fixture(scope="module")
def two_stories(
    tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, encoder: object
) -> Iterator[KnowledgeService]:
    """The shipped reading and two FairytaleQA stories that both have a king, a reward and a princess."""
    from bot.settings import Settings

    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path_factory.mktemp("two-stories"))}, dotenv=None)
    service = KnowledgeService.open(settings)
    service.ensure_ingested()
    for reading in (ASSIPATTLE, BIRDS):
        report = service.ingest([shared_dir / "eval" / "fairytaleqa-val" / f"{reading}.md"], reading=reading)
        assert report.added and not report.failed, report
    yield service
    service.close()


@pytest.mark.parametrize(
    ("texts", "names"),
    [
        (["Then the King said to Assipattle that the Stoorworm was near."], {"assipattle", "stoorworm"}),
        (["Then Assipattle came.", "He saw an assipattle."], set()),  # written in lower case once
        # common English words and first names, however a reading writes them: a reading about humans
        # may be asked about people
        (["Then the People came to the King.", "All the People saw John."], set()),
        (["Assipattle sat down."], set()),  # a sentence's first word may be any word
        (["“Kari, come here,” said he.", "He called: “Peik!”"], set()),  # after an opening quote or a colon
        (["He works at OpenAI (with SSI) in 2025."], {"openai", "ssi"}),
        (["I said so. Then I left."], set()),  # "I" is a stopword
    ],
)
def test_names_are_words_always_capitalised_once_mid_sentence(texts: list[str], names: set[str]) -> None:
    assert set(names_in(texts)) == names


def test_a_common_word_one_reading_capitalises_is_no_name(two_stories: KnowledgeService) -> None:
    # before: "It never mentions People." (a story wrote "the People"; the shipped reading says "humans")
    answer = two_stories.ask("why does he think models generalize worse than people?", reading=SHIPPED)
    assert answer.grounded and answer.sources[0].section == "Generalization as the core challenge"


def test_a_name_keeps_the_readings_spelling() -> None:
    assert names_in(["He works at OpenAI now."]) == {"openai": "OpenAI"}


@pytest.mark.parametrize(
    "question",
    [
        "How did the King reward Assipattle?",
        "how did the king reward assipattle",  # typed in lower case
        "How did the king reward Asipattle?",  # misspelled
        "What did the King offer as a reward for defeating the Stoorworm?",
    ],
)
def test_a_question_naming_one_readings_character_is_answered_from_that_reading(
    two_stories: KnowledgeService, question: str
) -> None:
    answer = two_stories.ask(question)  # before: the-battle-of-the-birds, "What reward dost thou ask?"
    assert answer.sources and {s.reading for s in answer.sources} == {ASSIPATTLE}  # cited or closest
    assert two_stories.ask("How did the King reward Assipattle?").grounded


def test_words_two_readings_share_name_no_reading(two_stories: KnowledgeService) -> None:
    lexical = two_stories.retriever.lexical
    assert lexical.named_reading("what did the king say to his daughter?") is None  # both stories have a king
    assert lexical.named_reading("Did Assipattle ever meet Ilya?") is None  # two readings' names
    assert lexical.named_reading("what does Ilya say about Assipattle?") is None
    assert lexical.named_reading("what does ilya say about generalization?") == SHIPPED


def test_with_a_reading_given_another_readings_name_is_declined_and_said(two_stories: KnowledgeService) -> None:
    answer = two_stories.ask("How did the King reward Assipattle?", reading=BIRDS)  # before: answered, covered
    assert not answer.grounded
    assert answer.body.startswith(f"{NOT_COVERED} It never mentions Assipattle. The closest section is")
    assert answer.sources and all(s.reading == BIRDS for s in answer.sources)  # --reading stays strict
    assert answer.to_json()["coverage"]["rule"] == "name"


def test_a_readings_own_names_are_answered_as_before(two_stories: KnowledgeService) -> None:
    answer = two_stories.ask("How did the King reward Assipattle?", reading=ASSIPATTLE)
    assert answer.grounded and "rule" not in answer.to_json()["coverage"]
    mixed = two_stories.ask("Did Assipattle ever meet Ilya?", reading=ASSIPATTLE)
    assert not mixed.grounded and "It never mentions Ilya." in mixed.body


def test_one_reading_owns_no_names(knowledge_service: KnowledgeService) -> None:
    lexical = knowledge_service.retriever.lexical
    assert len(lexical.readings()) == 1
    assert lexical.name_owner == {} and lexical.named_reading("what does Ilya say?") is None
