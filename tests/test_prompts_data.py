"""The prompt banks readbot ships: prompts/claims.yaml (for /poll) and prompts/discussion.yaml
(daily discussion questions). Every entry names one of the reading's sections and quotes a
passage verbatim from that section."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.knowledge.chunking import split_sections

ROOT = Path(__file__).resolve().parents[1]
READING = ROOT / "knowledge" / "dwarkesh-107-ilya-sutskever.txt"
CLAIMS = ROOT / "prompts" / "claims.yaml"
DISCUSSION = ROOT / "prompts" / "discussion.yaml"

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CLAIM_KEYS = {"id", "claim", "section", "passage"}
QUESTION_KEYS = {"id", "section", "question", "passage"}
MIN_CLAIMS = 12
MAX_CLAIM_CHARS = 300  # readbot's poll limit (bot.polls.model.MAX_CLAIM_CHARS)
MIN_QUESTIONS = 20
MIN_QUESTIONS_PER_SECTION = 2
MAX_QUESTION_CHARS = 280
PASSAGE_CHARS = (40, 300)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of silently keeping the last."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load(path: Path) -> Any:
    assert path.is_file(), f"{path} is missing"
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)


def _normal(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def sections() -> dict[str, str]:
    """Heading -> the section's text (its lines joined, whitespace normalised)."""
    _, parsed = split_sections(READING.read_text(encoding="utf-8"))
    result = {s.heading: _normal(" ".join(s.lines)) for s in parsed}
    assert len(result) == len(parsed), "the reading repeats a section heading"
    assert len(result) >= 2 and all(result), "could not split the reading into sections"
    return result


@pytest.fixture(scope="module")
def claims() -> list[dict[str, str]]:
    data = _load(CLAIMS)
    assert isinstance(data, dict) and set(data) == {"claims"}, "claims.yaml must have exactly one key: claims"
    assert isinstance(data["claims"], list)
    return data["claims"]


@pytest.fixture(scope="module")
def questions() -> list[dict[str, str]]:
    data = _load(DISCUSSION)
    assert isinstance(data, dict) and set(data) == {"questions"}, "discussion.yaml must have exactly one key: questions"
    assert isinstance(data["questions"], list)
    return data["questions"]


def _shape_problems(entries: list[Any], keys: set[str]) -> list[str]:
    problems = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"entry {i}: not a mapping: {entry!r}")
            continue
        label = f"entry {i} ({entry.get('id')!r})"
        if set(entry) != keys:
            problems.append(f"{label}: keys {sorted(map(str, entry))}, expected {sorted(keys)}")
        for key, value in entry.items():
            if not isinstance(value, str):
                problems.append(f"{label}: {key} is {type(value).__name__}, not str")
            elif not value.strip() or value != value.strip() or "\n" in value:
                problems.append(f"{label}: {key} is empty, padded or multi-line: {value!r}")
    return problems


def _id_problems(entries: list[dict[str, str]]) -> list[str]:
    ids = [e["id"] for e in entries]
    problems = [f"id {i!r} is not kebab-case" for i in ids if not KEBAB.match(i)]
    problems += [f"id {i!r} used {n} times" for i, n in Counter(ids).items() if n > 1]
    return problems


def _passage_problems(entries: list[dict[str, str]], sections: dict[str, str]) -> list[str]:
    low, high = PASSAGE_CHARS
    problems = []
    for e in entries:
        label, section, passage = e["id"], e["section"], e["passage"]
        if section not in sections:
            problems.append(f"{label}: section {section!r} is not a heading of the reading")
            continue
        if not low <= len(passage) <= high:
            problems.append(f"{label}: passage has {len(passage)} chars, expected {low}-{high}")
        if _normal(passage) not in sections[section]:
            problems.append(f"{label}: passage is not verbatim from section {section!r}: {passage!r}")
    return problems


def _duplicates(texts: list[str]) -> list[str]:
    counts = Counter(_normal(t).casefold() for t in texts)
    return [f"duplicate (case-insensitive): {t!r}" for t, n in counts.items() if n > 1]


# --------------------------------------------------------------------------- claims.yaml


def test_claims_entries_have_the_expected_shape(claims):
    assert len(claims) >= MIN_CLAIMS, f"{len(claims)} claims, expected at least {MIN_CLAIMS}"
    assert _shape_problems(claims, CLAIM_KEYS) == []


def test_claim_ids_are_unique_kebab_case(claims):
    assert _shape_problems(claims, CLAIM_KEYS) == []
    assert _id_problems(claims) == []


def test_claims_fit_a_poll_and_are_distinct(claims):
    assert _shape_problems(claims, CLAIM_KEYS) == []
    too_long = [c["id"] for c in claims if len(c["claim"]) > MAX_CLAIM_CHARS]
    assert too_long == [], f"claims longer than {MAX_CLAIM_CHARS} chars"
    questions = [c["id"] for c in claims if c["claim"].endswith("?")]
    assert questions == [], "a claim must be a statement to agree or disagree with, not a question"
    assert _duplicates([c["claim"] for c in claims]) == []


def test_claim_passages_are_verbatim_from_their_section(claims, sections):
    assert _shape_problems(claims, CLAIM_KEYS) == []
    assert _passage_problems(claims, sections) == []


# --------------------------------------------------------------------------- discussion.yaml


def test_questions_have_the_expected_shape(questions):
    assert len(questions) >= MIN_QUESTIONS, f"{len(questions)} questions, expected at least {MIN_QUESTIONS}"
    assert _shape_problems(questions, QUESTION_KEYS) == []


def test_question_ids_are_unique_kebab_case(questions):
    assert _shape_problems(questions, QUESTION_KEYS) == []
    assert _id_problems(questions) == []


def test_questions_are_short_distinct_questions(questions):
    assert _shape_problems(questions, QUESTION_KEYS) == []
    not_questions = [q["id"] for q in questions if not q["question"].endswith("?")]
    assert not_questions == [], "every question must end with '?'"
    too_long = [q["id"] for q in questions if len(q["question"]) > MAX_QUESTION_CHARS]
    assert too_long == [], f"questions longer than {MAX_QUESTION_CHARS} chars"
    assert _duplicates([q["question"] for q in questions]) == []


def test_question_passages_are_verbatim_from_their_section(questions, sections):
    assert _shape_problems(questions, QUESTION_KEYS) == []
    assert _passage_problems(questions, sections) == []


def test_every_section_has_enough_questions(questions, sections):
    assert _shape_problems(questions, QUESTION_KEYS) == []
    per_section = Counter(q["section"] for q in questions)
    short = {h: per_section[h] for h in sections if per_section[h] < MIN_QUESTIONS_PER_SECTION}
    assert short == {}, f"sections with fewer than {MIN_QUESTIONS_PER_SECTION} questions"
