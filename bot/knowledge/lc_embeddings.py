"""The bundled model as a langchain ``Embeddings`` (for langchain pipelines and baselines)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import MiniLMEncoder, shared_encoder


class MiniLMEmbeddings(Embeddings):
    def __init__(self, encoder: MiniLMEncoder | None = None) -> None:
        self._encoder = encoder

    @property
    def encoder(self) -> MiniLMEncoder:
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encoder.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encoder.encode([text])[0].tolist()
