"""The bundled MiniLM int8 model and its two faces (Chroma function, langchain Embeddings)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

from bot.knowledge.embeddings import (
    BATCH_ATTENTION,
    DIMENSIONS,
    MODEL_SHA256,
    MiniLMEncoder,
    ModelIntegrityError,
    model_file,
    shared_encoder,
)

TEXTS = [
    "Scaling",
    "The age of scaling was driven by scaling laws and ever larger compute budgets.",
    "Humans learn with far less data but generalize better than models do.",
    "Emotions may act as a value function.",
    "SSI aims to build safe superintelligence directly, avoiding incremental product "
    "releases that tie the company to market competition, and focusing on alignment.",
    "A short one.",
]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_shared_encoder_is_cached(encoder):
    assert shared_encoder() is encoder


def test_vectors_are_384_d_and_unit_length(encoder):
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), DIMENSIONS) == (6, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(vectors).all()
    # not a constant: different texts give different vectors
    assert np.abs(vectors[0] - vectors[1]).max() > 0.01


def test_same_text_gives_the_same_vector(encoder):
    first = encoder.encode(["Generalization is the core challenge."])
    second = encoder.encode(["Generalization is the core challenge."])
    np.testing.assert_array_equal(first, second)


def test_batch_equals_one_by_one_whatever_the_padding(encoder):
    batched = encoder.encode(TEXTS)  # one padded batch
    small_batches = encoder.encode(TEXTS, batch_size=2)
    one_by_one = np.stack([encoder.encode([t])[0] for t in TEXTS])  # no padding at all
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    np.testing.assert_allclose(small_batches, one_by_one, atol=1e-4)


def test_long_texts_run_in_small_batches(encoder, monkeypatch):
    """A batch's run memory grows with batch × width²: long texts go a few at a time, short ones
    32 at a time, and the vectors are the same as one by one."""
    texts = [f"{word} " * 200 for word in ("river", "stone", "lantern", "harvest", "window", "orchard")]
    texts += [f"Short sentence number {i}." for i in range(40)]
    shapes: list[tuple[int, int]] = []
    run = MiniLMEncoder._run

    def spy(self, encodings):
        shapes.append((len(encodings), max(len(e.ids) for e in encodings)))
        return run(self, encodings)

    monkeypatch.setattr(MiniLMEncoder, "_run", spy)
    vectors = encoder.encode(texts)
    assert all(n * width * width <= BATCH_ATTENTION for n, width in shapes if n > 1)
    long_batches = [n for n, width in shapes if width > 150]
    assert sum(long_batches) == 6 and max(long_batches) <= 3
    assert max(n for n, _ in shapes) == 32
    monkeypatch.setattr(MiniLMEncoder, "_run", run)
    one_by_one = np.stack([encoder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-4)


def test_rows_come_back_in_input_order(encoder):
    reversed_rows = encoder.encode(TEXTS[::-1])
    np.testing.assert_allclose(reversed_rows[::-1], encoder.encode(TEXTS), atol=1e-4)


def test_similar_sentences_are_closer_than_unrelated_ones(encoder):
    cat, kitten, tax = encoder.encode(
        [
            "The cat sat on the mat.",
            "A kitten was sitting on the rug.",
            "Quarterly tax filings are due in April.",
        ]
    )
    assert _cos(cat, kitten) > _cos(cat, tax) + 0.2
    scaling, compute, cake = encoder.encode(
        [
            "Bigger models trained on more data keep improving.",
            "Scaling compute and datasets reliably improved performance.",
            "Whisk the eggs and sugar before folding in the flour.",
        ]
    )
    assert _cos(scaling, compute) > _cos(scaling, cake) + 0.2


def test_empty_input_and_over_long_input(encoder):
    assert encoder.encode([]).shape == (0, DIMENSIONS)
    long_text = " ".join(["research taste"] * 3000)  # far beyond 256 tokens: truncated, not an error
    vector = encoder.encode([long_text])
    assert vector.shape == (1, DIMENSIONS)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


# --------------------------------------------------------------------------- model integrity


def test_intact_copy_of_the_model_loads_and_matches(tmp_path, encoder):
    copy = tmp_path / "model.onnx"
    shutil.copyfile(model_file(), copy)
    other = MiniLMEncoder(model_path=copy)
    np.testing.assert_allclose(other.encode(TEXTS[:2]), encoder.encode(TEXTS[:2]), atol=1e-5)


def test_one_changed_byte_in_the_model_raises_integrity_error(tmp_path):
    copy = tmp_path / "model.onnx"
    shutil.copyfile(model_file(), copy)
    data = bytearray(copy.read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError) as info:
        MiniLMEncoder(model_path=copy)
    message = str(info.value)
    assert str(copy) in message and MODEL_SHA256 in message and "reinstall" in message


def test_missing_model_file_raises_integrity_error(tmp_path):
    with pytest.raises(ModelIntegrityError, match="missing"):
        MiniLMEncoder(model_path=tmp_path / "nope.onnx")


def test_tampered_tokenizer_raises_integrity_error(tmp_path):
    from bot.knowledge.embeddings import TOKENIZER_PATH

    copy = tmp_path / "tokenizer.json"
    copy.write_bytes(TOKENIZER_PATH.read_bytes() + b" ")
    with pytest.raises(ModelIntegrityError, match=r"tokenizer\.json"):
        MiniLMEncoder(tokenizer_path=copy)


# --------------------------------------------------------------------------- Chroma face


def test_chroma_function_is_registered_by_name(encoder):
    from chromadb.utils.embedding_functions import config_to_embedding_function, known_embedding_functions

    from bot.knowledge.chroma_ef import NAME, MiniLMChromaFunction

    assert NAME == "readbot-minilm-int8"
    assert known_embedding_functions[NAME] is MiniLMChromaFunction
    function = config_to_embedding_function({"name": NAME, "config": {}})
    assert isinstance(function, MiniLMChromaFunction)
    vectors = function(["Emotions may act as a value function.", "Scaling"])
    assert len(vectors) == 2
    assert all(len(v) == DIMENSIONS for v in vectors)
    np.testing.assert_allclose(
        np.asarray(vectors), encoder.encode(["Emotions may act as a value function.", "Scaling"]), atol=1e-5
    )
    assert function.default_space() == "cosine"
    rebuilt = MiniLMChromaFunction.build_from_config(function.get_config())
    assert rebuilt.get_config() == {"model": "all-MiniLM-L6-v2-int8", "sha256": MODEL_SHA256}


def test_reopened_chroma_collection_rebuilds_the_function_from_its_config(tmp_path, encoder):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from bot.knowledge.chroma_ef import MiniLMChromaFunction

    settings = ChromaSettings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"), settings=settings)
    collection = client.create_collection(
        "ef-test", embedding_function=MiniLMChromaFunction(), configuration={"hnsw": {"space": "cosine"}}
    )
    collection.add(
        ids=["owl", "cake"],
        documents=["Owls hunt small mammals at night.", "Whisk the eggs and sugar, then bake the cake."],
    )

    # no embedding_function given: Chroma must find readbot's by its registered name
    reopened = client.get_collection("ef-test")
    got = reopened.query(query_texts=["nocturnal birds of prey"], n_results=2)
    assert got["ids"][0][0] == "owl"
    stored = reopened.get(ids=["owl"], include=["embeddings"])["embeddings"][0]
    np.testing.assert_allclose(stored, encoder.encode(["Owls hunt small mammals at night."])[0], atol=1e-5)


# --------------------------------------------------------------------------- langchain face


def test_langchain_embeddings_return_lists_of_floats(encoder):
    from langchain_core.embeddings import Embeddings

    from bot.knowledge.lc_embeddings import MiniLMEmbeddings

    embeddings = MiniLMEmbeddings()
    assert isinstance(embeddings, Embeddings)
    docs = embeddings.embed_documents(["one text", "another text"])
    assert isinstance(docs, list) and len(docs) == 2
    for row in docs:
        assert isinstance(row, list) and len(row) == 384
        assert all(type(x) is float for x in row)
    query = embeddings.embed_query("one text")
    assert isinstance(query, list) and len(query) == 384 and all(type(x) is float for x in query)
    np.testing.assert_allclose(query, docs[0], atol=1e-5)
    np.testing.assert_allclose(query, encoder.encode(["one text"])[0], atol=1e-6)


# --------------------------------------------------------------------------- offline guarantee


def test_a_hidden_download_fails_loudly():
    with pytest.raises(RuntimeError, match="network access blocked in tests"):
        urllib.request.urlopen("https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2", timeout=2)
    with pytest.raises(RuntimeError, match="network access blocked in tests"):
        socket.create_connection(("203.0.113.7", 443), timeout=1)


def test_loopback_stays_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        client = socket.create_connection(server.getsockname(), timeout=2)
        client.close()
        client = socket.create_connection(("localhost", server.getsockname()[1]), timeout=2)
        client.close()
    finally:
        server.close()


def test_subprocesses_are_network_guarded_too(cli_env):
    code = "import socket; socket.create_connection(('203.0.113.7', 443), timeout=1)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "network access blocked in tests" in result.stderr


def test_the_shared_models_are_built_once_whoever_asks_first():
    import threading
    import time

    from bot.knowledge.embeddings import shared_encoder
    from bot.knowledge.once import Once
    from bot.knowledge.rerank import shared_reranker

    built = []

    def slow_build() -> object:
        time.sleep(0.05)  # long enough for every thread to be waiting
        built.append(object())
        return built[-1]

    once = Once(slow_build)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(once())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and all(g is built[0] for g in got)
    assert shared_encoder() is shared_encoder() and shared_reranker() is shared_reranker()
