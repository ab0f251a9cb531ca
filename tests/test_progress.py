"""Spoiler-safe progress: answers that stop where the group has read.

The real index and model over the 23 FairytaleQA validation stories (each story its own reading, its
``## Part N`` sections in order), the real Chroma where-filter, real SQLite; nothing is faked."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.knowledge.index import Bound, KnowledgeIndex, where_clause
from bot.knowledge.sections import SectionName, UnknownSection, match_section
from bot.knowledge.service import KnowledgeService
from tests.readings_support import FAIRYTALES as SHARED
from tests.readings_support import fairytales

WINDOW = 8  # words: a run this long found only past the bound is a leak
WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def story_files() -> list[Path]:
    return fairytales()


def windows(text: str) -> set[tuple[str, ...]]:
    tokens = WORD.findall(text.lower().replace("’", "'"))
    return {tuple(tokens[i : i + WINDOW]) for i in range(len(tokens) - WINDOW + 1)}


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Iterable[KnowledgeService]:
    from bot.settings import Settings

    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path_factory.mktemp("stories"))}, dotenv=None)
    service = KnowledgeService.open(settings)
    service.ensure_ingested()
    for path in story_files():
        report = service.ingest([path], reading=path.stem)
        assert report.added and not report.failed, report
    yield service
    service.close()


@pytest.fixture(scope="module")
def questions() -> list[dict[str, Any]]:
    path = SHARED / "questions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def section_texts(service: KnowledgeService, reading: str) -> dict[int, str]:
    """Each section's whole text (heading and sentences), by section order, from the index."""
    out: dict[int, list[str]] = {}
    for c in service.retriever.lexical.chunks:
        if c.reading == reading:
            out.setdefault(c.chunk.section_order, [c.chunk.section]).append(c.chunk.text)
    return {order: " ".join(parts) for order, parts in out.items()}


def test_sections_are_numbered_in_reading_order(stories: KnowledgeService) -> None:
    for path in story_files():
        headings = [ln[3:].strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("## ")]
        assert [(s.order, s.heading) for s in stories.sections(path.stem)] == list(enumerate(headings))


def test_the_bound_is_in_the_chroma_query_not_a_post_filter(stories: KnowledgeService) -> None:
    reading = "black-arts"
    vector = stories.index.embedder.embed_query("What did the husband eat at the birthday celebration?")
    lexical = stories.retriever.lexical
    within = int(np.sum((lexical.reading_of == reading) & (lexical.section_order_of <= 5)))
    assert within > 20
    hits = stories.index.query(vector, 20, reading=reading, bound=Bound(reading, 5))
    orders = stories.index._shards[0].get(ids=[h.id for h in hits], include=["metadatas"])["metadatas"]
    assert len(hits) == 20  # n results, all of them within the bound (a post-filter would return fewer)
    assert {m["reading"] for m in orders} == {reading} and max(m["section_order"] for m in orders) <= 5
    assert where_clause(reading, Bound(reading, 1)) == {"$and": [{"reading": reading}, {"section_order": {"$lte": 1}}]}
    # a search of every reading keeps the others whole and this one bounded
    everywhere = stories.index.query(vector, 200, bound=Bound(reading, 1))
    metas = stories.index._shards[0].get(ids=[h.id for h in everywhere], include=["metadatas"])["metadatas"]
    assert all(m["section_order"] <= 1 for m in metas if m["reading"] == reading)
    assert any(m["reading"] != reading and m["section_order"] > 1 for m in metas)


def test_no_answer_leaks_a_later_section(stories: KnowledgeService, questions: list[dict[str, Any]]) -> None:
    """Every other question of every story (512 of 1,025, all 23 stories; each asks two searches, the
    bounded one and the whole reading's), asked with the group's progress set just before the section
    that answers it (the hardest place for a spoiler): no source past the bound, and no run of 8
    words of the reply or its sources that only a later section contains."""
    checked = further = later_gold = answered_in_bound = in_bound = 0
    texts = {p.stem: section_texts(stories, p.stem) for p in story_files()}
    split = functools.cache(
        lambda reading, upto: (
            set().union(*(windows(t) for o, t in texts[reading].items() if o <= upto)),
            set().union(*(windows(t) for o, t in texts[reading].items() if o > upto)),
        )
    )
    asked = questions[::2]
    assert {q["story"] for q in asked} == {p.stem for p in story_files()}
    for q in asked:
        reading = q["story"]
        golds = sorted(int(g.split()[-1]) - 1 for g in q["gold"])
        upto = max(golds[0] - 1, 0)
        answer = stories.ask(q["question"], reading=reading, upto=upto)
        by_heading = {s.heading: s.order for s in stories.sections(reading)}
        assert answer.upto == f"Part {upto + 1}"
        for source in answer.sources:
            assert source.reading == reading and by_heading[source.section] <= upto, (q["id"], source)
        for passage in answer.evidence:
            assert by_heading[passage.section] <= upto, (q["id"], passage)
        seen, later = split(reading, upto)
        said = " ".join([answer.text, *(s.text for s in answer.sources)])
        leaked = (windows(said) & later) - seen
        assert not leaked, (q["id"], q["question"], sorted(leaked)[:3])
        if answer.further:
            assert not answer.grounded and not answer.sources and "further on" in answer.body
        checked += 1
        further += answer.further
        if golds[0] > upto:
            later_gold += 1
        else:
            in_bound += 1
            answered_in_bound += answer.grounded
    assert checked == len(asked) >= 500
    assert further >= 0.25 * later_gold, (further, later_gold)  # "further on" is said, not only declines
    assert answered_in_bound >= 0.9 * in_bound, (answered_in_bound, in_bound)


def test_a_question_answered_further_on_is_told_so_without_revealing_it(stories: KnowledgeService) -> None:
    sections = section_texts(stories, "black-arts")
    answer = stories.ask("Why did the husband eat the birthday noodles?", reading="black-arts", upto=1)
    assert answer.further and not answer.grounded and answer.sources == ()
    assert "further on" in answer.body and "“Part 2”" in answer.body
    assert not windows(answer.body) & set().union(*(windows(t) for o, t in sections.items() if o > 1))
    payload = answer.to_json()
    assert payload["grounded"] is False and payload["sources"] == []
    assert payload["progress"] == {"upto": "Part 2", "further": True}
    unbounded = stories.ask("Why did the husband eat the birthday noodles?", reading="black-arts")
    assert unbounded.grounded  # the whole reading does answer it


def test_a_gist_question_lists_only_the_sections_read(stories: KnowledgeService) -> None:
    answer = stories.ask("What is this story about?", reading="kari-woodencoat", upto=2)
    assert answer.grounded
    assert {s.section for s in answer.sources} <= {"Part 1", "Part 2", "Part 3"}
    assert "Part 4" not in answer.body and "Part 3" in answer.body


def test_old_indexes_get_their_section_order_on_open(tmp_path: Path, encoder: Any) -> None:
    from bot.knowledge.embedder import make_embedder
    from bot.knowledge.index import ORDERED_KEY, chroma_client
    from bot.knowledge.ingest import Ingester

    client = chroma_client(tmp_path)
    index = KnowledgeIndex(client, make_embedder("bundled"))
    Ingester(index).run([SHARED / "kari-woodencoat.md"], reading="kari")
    fresh = {c.id: c.chunk.section_order for c in index.all_chunks()}
    assert max(fresh.values()) > 5
    # as an index written before section_order existed: the field and the flag gone
    got = index._shards[0].get(include=["metadatas"])
    stripped = [{k: v for k, v in m.items() if k != "section_order"} for m in got["metadatas"]]
    index._shards[0].delete(ids=got["ids"])
    vectors = index.embedder.embed_documents([m["text"] for m in stripped])
    index._shards[0].add(
        ids=got["ids"], embeddings=vectors, metadatas=stripped, documents=[m["text"] for m in stripped]
    )
    index._shards[0].modify(metadata={k: v for k, v in index._shards[0].metadata.items() if k != ORDERED_KEY})
    old = index._shards[0].get(include=["metadatas"])["metadatas"]
    assert all("section_order" not in m for m in old)
    reopened = KnowledgeIndex(client, index.embedder)
    assert {c.id: c.chunk.section_order for c in reopened.all_chunks()} == fresh
    assert reopened.migrate_section_order() == 0  # once


def test_section_names_match_as_people_write_them() -> None:
    sections = [SectionName(i, h) for i, h in enumerate(["Prologue", "Chapter 1: The Wolf", "Chapter 2", "Chapter 12"])]

    def named(typed: str) -> str:
        return match_section(sections, typed, reading="r").heading

    assert named("Chapter 2") == "Chapter 2"
    assert named("chapter  2") == "Chapter 2"
    assert named("12") == "Chapter 12"  # the heading numbered 12, not the twelfth section
    assert named("1") == "Chapter 1: The Wolf"
    assert named("pro") == "Prologue"
    assert named("the wolf") == "Chapter 1: The Wolf"
    for typed, message in (("Chapter", "could be"), ("Epilogue", "names no section"), ("", "Say which section")):
        with pytest.raises(UnknownSection, match=message) as raised:
            named(typed)
        assert "\n" not in str(raised.value)


def test_cli_upto(run_readbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    added = run_readbot(["ingest", str(SHARED / "black-arts.md"), "--reading", "black-arts"], data_dir=data)
    assert added.returncode == 0, added.stderr
    question = "Why did the husband eat the birthday noodles?"
    asked = run_readbot(["ask", question, "--reading", "black-arts", "--upto", "part 2", "--json"], data_dir=data)
    assert asked.returncode == 0, asked.stderr
    payload = json.loads(asked.stdout)
    assert payload["grounded"] is False and payload["sources"] == []
    assert payload["progress"] == {"upto": "Part 2", "further": True}
    early = run_readbot(
        ["ask", "Who were masters of many black arts?", "--reading", "black-arts", "--upto", "2", "--json"],
        data_dir=data,
    )
    assert early.returncode == 0 and json.loads(early.stdout)["grounded"] is True
    assert {s["section"] for s in json.loads(early.stdout)["sources"]} <= {"Part 1", "Part 2"}
    for args in (
        ["ask", question, "--reading", "black-arts", "--upto", "Part 99"],
        ["ask", question, "--reading", "black-arts", "--upto", "the epilogue"],
        ["ask", question, "--upto", "Part 2"],
    ):
        bad = run_readbot(args, data_dir=data)
        assert bad.returncode == 2, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr, bad.stderr
        assert bad.stdout == ""


def test_bounded_vocabulary_knows_only_what_was_read(stories: KnowledgeService) -> None:
    lexical = stories.retriever.lexical
    whole = lexical.vocabulary["black-arts"]
    early = lexical.vocabulary_within("black-arts", 1)
    assert early is not None and early.words < whole.words
    assert "noodles" in whole.words and "noodles" not in early.words
    allowed = lexical.within("black-arts", 1)
    assert not np.any(allowed & (lexical.reading_of == "black-arts") & (lexical.section_order_of > 1))


def test_prompts_and_claims_can_be_kept_to_the_sections_read(stories: KnowledgeService) -> None:
    from bot.polls.claims import claims_upto, load_claims
    from bot.prompts.bank import Question, load_questions, questions_upto

    order = {s.heading: s.order for s in stories.sections("dwarkesh-107-ilya-sutskever")}
    questions = [*load_questions(), Question("custom-1", "What did you make of it?")]
    for upto in (0, 3, len(order) // 2):
        kept = questions_upto(questions, upto, order)
        assert kept and all(q.custom or order[q.section] <= upto for q in kept)
        assert any(q.id == "custom-1" for q in kept)  # a moderator's own question names no section
        claims = claims_upto(load_claims(), upto, order)
        assert all(order[c.section] <= upto for c in claims)
    assert len(questions_upto(questions, 0, order)) < len(questions) == len(questions_upto(questions, None, order))
    assert claims_upto(load_claims(), None, order) == load_claims()
    assert len(claims_upto(load_claims(), 0, order)) < len(load_claims())
