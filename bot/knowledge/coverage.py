"""Does the reading cover this question? A small calibrated model over general measurements.

Nothing in it knows a particular reading. For a question and the reading that best
matches it (or the one ``--reading`` names), it measures:

* ``dense``   best cosine similarity of the question to any sentence of the reading;
* ``covered_terms``  share of the question's content words the reading uses at all
  (light stemming; stopwords, question-frame words such as "say", "mean" and the
  names the reading itself is about, see ``lexical.subject_names``, excluded);
* ``unknown_terms``  how many content words the reading never uses (capped at 3);
* ``unknown_names``  capitalised words (past the first) the reading never uses: a name
  from elsewhere ("Musk", "Gerda") says the question is about something else;
* ``window_terms``, ``section_terms``  shares of those content words found around the
  best passage and in its section (a question is answered in one place, not from words
  scattered over the whole reading);
* ``rerank``  the cross-encoder's best logit over the sentences it read
  (:mod:`bot.knowledge.rerank`): whether a sentence of the reading answers the question,
  on a scale learnt from web questions, not from any reading;
* ``margin``  how far the best section's score (fusion and cross-encoder) stands above the next
  section of the same reading the cross-encoder read: a question a reading covers is answered in
  one place, one it doesn't matches several parts about equally well. A reading of one section
  has no next section: the feature is left out (its fitted mean, so it pushes neither way).

Misspelt words are first matched to the reading's words (:mod:`bot.knowledge.spelling`).

A logistic regression over them is fitted by ``benchmarks/calibrate.py`` across
readings of two kinds (the shipped reading's calibration questions and the FairytaleQA
validation stories, where each story's questions are out of scope for every other
story) and stored in ``coverage_model.json`` with its threshold and its figures per
reading kind. The threshold maximises, summed over the kinds, the share of out-of-scope questions
declined minus three times the share of in-scope questions wrongly declined (declining
a covered question costs a member more than an answer that is only loosely related).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.knowledge.terms import STOPWORDS, content_terms, words

if TYPE_CHECKING:
    from bot.knowledge.lexical import ReadingVocabulary

MODEL_PATH = Path(__file__).with_name("coverage_model.json")
FEATURES = (
    "dense",
    "covered_terms",
    "unknown_terms",
    "unknown_names",
    "window_terms",
    "section_terms",
    "rerank",
    "margin",
)
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")


def unknown_names(question: str, known_words: set[str]) -> int:
    names = 0
    for i, token in enumerate(TOKEN.findall(question)):
        low = token.lower()
        if i == 0 or not token[0].isupper() or low in STOPWORDS or low == "i":
            continue
        if not set(words(low)) <= known_words:
            names += 1
    return names


def coverage_features(question: str, dense: np.ndarray, vocab: ReadingVocabulary | None) -> dict[str, float]:
    """``dense``: the question's cosine similarity to the reading's best-matching chunks."""
    stems = vocab.stems if vocab else set()
    known = vocab.words if vocab else set()
    ct = content_terms(question, vocab.subjects if vocab else frozenset())
    unknown = [t for t in ct if t not in stems]
    best = np.sort(dense)[::-1] if len(dense) else np.zeros(1)
    return {
        "dense": float(best[0]),
        "covered_terms": (len(ct) - len(unknown)) / len(ct) if ct else 0.0,
        "unknown_terms": float(min(len(unknown), 3)),
        "unknown_names": float(unknown_names(question, known)),
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
        """A feature left out (``margin`` of a one-section reading) counts as its fitted mean."""
        z = self.bias + sum(
            w * (features.get(name, m) - m) / s
            for name, w, m, s in zip(FEATURES, self.weights, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-z))

    def decide(self, features: dict[str, float]) -> tuple[bool, float]:
        p = self.probability(features)
        return p >= self.threshold, p
