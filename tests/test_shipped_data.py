"""What readbot ships: the reading, the prompt, the pinned tokenizer/model, the coverage model."""

from __future__ import annotations

import hashlib
import json
import math

from bot.knowledge.coverage import FEATURES, MODEL_PATH, CoverageModel
from bot.knowledge.embeddings import MODEL_SHA256, TOKENIZER_PATH, TOKENIZER_SHA256, model_file
from bot.knowledge.llm import TEMPLATE_PATH
from bot.paths import shipped

READING = "dwarkesh-107-ilya-sutskever.txt"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_knowledge_folder_holds_the_episode_summary(repo_root, reading_path):
    assert shipped("knowledge") == repo_root / "knowledge"
    assert reading_path.is_file()
    text = reading_path.read_text(encoding="utf-8")  # valid UTF-8
    assert text.startswith("Ilya Sutskever \u2013 We're moving from the age of scaling")
    assert "Research taste and top-down belief" in text
    indexable = sorted(p.name for p in (repo_root / "knowledge").iterdir() if p.suffix in (".txt", ".md", ".markdown"))
    assert indexable == [READING]


def test_shipped_reading_is_identical_to_the_shared_copy(shared_dir, reading_path):
    reference = shared_dir / "knowledge" / READING
    assert reference.is_file(), f"{reference} is missing from the shared folder"
    assert reading_path.read_bytes() == reference.read_bytes()


def test_answer_prompt_exists(repo_root):
    assert TEMPLATE_PATH == shipped("prompts") / "answer.md" == repo_root / "prompts" / "answer.md"
    assert TEMPLATE_PATH.is_file()
    assert TEMPLATE_PATH.read_text(encoding="utf-8").strip()


def test_tokenizer_matches_its_pinned_sha256(repo_root):
    assert repo_root / "bot" / "knowledge" / "model" / "tokenizer.json" == TOKENIZER_PATH
    assert _sha256(TOKENIZER_PATH.read_bytes()) == TOKENIZER_SHA256
    assert (TOKENIZER_PATH.parent / "NOTICE.md").is_file()


def test_installed_model_matches_its_pinned_sha256():
    path = model_file()
    assert path.is_file()
    assert _sha256(path.read_bytes()) == MODEL_SHA256


def test_coverage_model_loads_and_is_calibrated():
    assert MODEL_PATH.is_file()
    model = CoverageModel.load()
    assert len(model.mean) == len(model.scale) == len(model.weights) == len(FEATURES) == 8
    assert all(s > 0 and math.isfinite(s) for s in model.scale)
    assert 0 < model.threshold < 1
    # more similarity and more of the question's words found mean "covered" is likelier;
    # names the reading never uses make it less likely
    base = {
        "dense": 0.4,
        "covered_terms": 0.5,
        "unknown_terms": 1.0,
        "unknown_names": 0.0,
        "window_terms": 0.5,
        "section_terms": 0.5,
        "rerank": -2.0,
    }
    p = model.probability(base)
    assert 0 < p < 1
    assert model.probability({**base, "dense": 0.7}) > p
    assert model.probability({**base, "covered_terms": 1.0}) > p
    assert model.probability({**base, "section_terms": 1.0}) > p
    assert model.probability({**base, "rerank": 4.0}) > p  # a sentence the cross-encoder says answers
    assert model.probability({**base, "unknown_names": 2.0}) < p
    # one section standing out (a covered question is answered in one place) more than several alike
    assert model.probability({**base, "margin": 1.5}) > model.probability({**base, "margin": 0.0})
    assert (
        model.decide(
            {
                **base,
                "dense": 0.75,
                "covered_terms": 1.0,
                "unknown_terms": 0.0,
                "window_terms": 1.0,
                "section_terms": 1.0,
            }
        )[0]
        is True
    )
    assert (
        model.decide(
            {
                "dense": 0.1,
                "covered_terms": 0.0,
                "unknown_terms": 3.0,
                "unknown_names": 2.0,
                "window_terms": 0.0,
                "section_terms": 0.0,
                "rerank": -11.0,
            }
        )[0]
        is False
    )


def test_coverage_model_was_fitted_across_two_kinds_of_reading():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert set(data["fitted"]) == {"summary", "fairytale"}
    for kind in data["fitted"].values():
        assert kind["in_scope_wrongly_declined"] < 0.2 and kind["out_of_scope_declined"] > 0.7
