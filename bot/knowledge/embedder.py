"""Which embedding model readbot uses, behind one small interface.

``bundled`` (the default) is the offline MiniLM model shipped with readbot. Any
langchain embeddings provider can be chosen instead with ``READBOT_EMBEDDINGS=
provider:model`` (e.g. ``openai:text-embedding-3-small``, needs the ``llm`` extra and
the provider's package). The ``id`` is recorded on the index, so an index built with
one model is never queried or extended with another.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from bot.errors import ConfigError
from bot.knowledge.embeddings import MODEL_NAME, UsesSharedEncoder, preload_in_background

BUNDLED = "bundled"


class Embedder(Protocol):
    @property
    def id(self) -> str: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def chroma_function(self) -> Any: ...


class BundledEmbedder(UsesSharedEncoder):
    @property
    def id(self) -> str:
        return f"{BUNDLED}:{MODEL_NAME}"

    def preload(self) -> None:
        if self._encoder is None:
            preload_in_background()

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.encoder.encode([text])[0]

    def chroma_function(self) -> Any:
        from bot.knowledge.chroma_ef import MiniLMChromaFunction

        return MiniLMChromaFunction(self._encoder)


class LangchainEmbedder:
    """Any langchain ``Embeddings``; vectors are L2-normalised for cosine search."""

    def __init__(self, embeddings: Any, spec: str) -> None:
        self._embeddings = embeddings
        self._spec = spec

    @property
    def id(self) -> str:
        return f"langchain:{self._spec}"

    @staticmethod
    def _unit(rows: list[list[float]]) -> np.ndarray:
        arr = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(arr, axis=-1, keepdims=True)
        return arr / np.clip(norms, 1e-12, None)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._unit(self._embeddings.embed_documents(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self._unit([self._embeddings.embed_query(text)])[0]

    def chroma_function(self) -> Any:
        return None  # vectors are always passed explicitly; nothing for Chroma to rebuild


def make_embedder(spec: str) -> Embedder:
    """Build the embedder named by the READBOT_EMBEDDINGS setting."""
    if spec == BUNDLED:
        return BundledEmbedder()
    try:
        from langchain.embeddings import init_embeddings
    except ImportError as exc:
        raise ConfigError(f"READBOT_EMBEDDINGS={spec!r} needs the langchain extra: pip install 'readbot[llm]'") from exc
    try:
        embeddings = init_embeddings(spec)
    except Exception as exc:  # provider packages raise many kinds
        raise ConfigError(f"READBOT_EMBEDDINGS={spec!r} could not be loaded: {exc}") from exc
    return LangchainEmbedder(embeddings, spec)
