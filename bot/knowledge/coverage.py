"""Does the reading cover this question? A small calibrated model, not a guess.

A threshold on the top similarity alone fails: "What did Ilya say about the stock
market?" names the guest and scores above many real, paraphrased questions. So the
decision combines four measurements of the question against the reading:

* ``dense``   best cosine similarity of the (name-stripped) question to any chunk;
* ``covered_terms``  share of the question's content words that the best-matching
  document uses at all (after light stemming; question-frame words and the guest's
  name excluded);
* ``unknown_terms``  how many content words the document never uses (capped at 3);
* ``unknown_names``  capitalised words (past the first) that the document never uses:
  "EU", "Musk", "Nvidia" mean the question is about something else.

A logistic regression over them is fitted by ``benchmarks/calibrate.py`` on a labelled
question set (``benchmarks/data/calibration_qa.jsonl``, written independently of the
dev set) and stored in ``coverage_model.json`` beside this file with its
leave-one-out accuracy; the dev set is the held-out check.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge.terms import content_terms, words

if TYPE_CHECKING:
    from bot.knowledge.lexical import LexicalIndex
    from bot.knowledge.retrieval import SectionHit

MODEL_PATH = Path(__file__).with_name("coverage_model.json")
FEATURES = ("dense", "covered_terms", "unknown_terms", "unknown_names")
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")
ALWAYS_KNOWN = frozenset({"i", "ai", "ais", "agi", "ml", "llm", "llms"})


def coverage_features(
    question: str, top_dense: float, top_hit: SectionHit | None, lexical: LexicalIndex, frame: frozenset[str]
) -> dict[str, float]:
    vocab = lexical.vocabulary.get(top_hit.document) if top_hit else None
    stems = vocab.stems if vocab else set()
    known_words = vocab.words if vocab else set()
    ct = content_terms(question, frame)
    unknown = [t for t in ct if t not in stems]
    names = 0
    for i, token in enumerate(TOKEN.findall(question)):
        low = token.lower()
        if i == 0 or not token[0].isupper() or low in frame or low in ALWAYS_KNOWN:
            continue
        if not set(words(low)) <= known_words:
            names += 1
    return {
        "dense": float(top_dense),
        "covered_terms": (len(ct) - len(unknown)) / len(ct) if ct else 0.0,
        "unknown_terms": float(min(len(unknown), 3)),
        "unknown_names": float(names),
    }


@dataclass(frozen=True)
class CoverageModel:
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> CoverageModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: fitted for features {data['features']}, code has {FEATURES}")
        return cls(
            tuple(data["mean"]),
            tuple(data["scale"]),
            tuple(data["weights"]),
            float(data["bias"]),
            float(data.get("threshold", 0.5)),
        )

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(
            w * (features[name] - m) / s
            for name, w, m, s in zip(FEATURES, self.weights, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, features: dict[str, float]) -> tuple[bool, float]:
        p = self.probability(features)
        return p >= self.threshold, p
