"""The bundled model as a Chroma embedding function, registered by name.

Registering means a collection reopened later (by this process, another replica or
``chroma`` tooling with readbot installed) rebuilds the same function from the
collection's persisted configuration instead of falling back to Chroma's default,
which would try to download a model.
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from bot.knowledge.embeddings import MODEL_NAME, MODEL_SHA256, UsesSharedEncoder

NAME = "readbot-minilm-int8"


@register_embedding_function
class MiniLMChromaFunction(UsesSharedEncoder, EmbeddingFunction[Documents]):
    def __call__(self, input: Documents) -> Embeddings:
        return list(self.encoder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMChromaFunction:
        return MiniLMChromaFunction()

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_NAME, "sha256": MODEL_SHA256}
