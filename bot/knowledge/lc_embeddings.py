"""The bundled model as a langchain ``Embeddings`` (for langchain pipelines and baselines)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import UsesSharedEncoder


class MiniLMEmbeddings(UsesSharedEncoder, Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encoder.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encoder.encode([text])[0].tolist()
