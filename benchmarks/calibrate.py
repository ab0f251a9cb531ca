"""Fit the coverage decision (does the reading cover this question?) across readings.

    python benchmarks/calibrate.py [--write] [--data-dir DIR]

Two kinds of reading, in one index: the shipped reading with its calibration questions
(``benchmarks/data/calibration_qa.jsonl``, written as members talk) and the 23
FairytaleQA validation stories, where each story's questions are in scope for it and
out of scope for the other stories (asked with ``--reading``, four other stories per
question, drawn with a fixed seed). The features of every question come from the real
retriever; a logistic regression (numpy, L2) is fitted with each kind weighing the same
and in/out balanced inside a kind. The threshold maximises, summed over kinds, the
share of out-of-scope questions declined minus ``WRONG_DECLINE_COST`` times the share
of in-scope questions wrongly declined. Gist questions ("tl;dr?") are left out: they
are routed to the overview, not decided by the model.
Figures are printed per kind, fitted and cross-validated (a held-out fold never shares
a reading with training for FairytaleQA), and the dev set is checked held out.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    CALIBRATION_SET,
    DEV_SET,
    SHIPPED_READING,
    both_kinds_service,
    fairytale_questions,
    load_questions,
)
from bot.knowledge.coverage import FEATURES, MODEL_PATH
from bot.knowledge.retrieval import GIST_INTENT

L2 = 0.01
WRONG_DECLINE_COST = 3.0
OTHER_STORIES = 4
FOLDS = 5


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    coef, b = np.zeros(z.shape[1]), 0.0
    w = w / w.sum()
    for _ in range(5000):
        p = 1 / (1 + np.exp(-(z @ coef + b)))
        coef -= 1.0 * (z.T @ (w * (p - y)) + L2 * coef)
        b -= 1.0 * float((w * (p - y)).sum())
    return coef, b, mean, scale


def predict(model: tuple[np.ndarray, float, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    coef, b, mean, scale = model
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ coef + b)))


def balanced_weights(y: np.ndarray, kind: np.ndarray) -> np.ndarray:
    w = np.zeros(len(y))
    for k in np.unique(kind):
        for label in (0, 1):
            m = (kind == k) & (y == label)
            w[m] = 1.0 / max(m.sum(), 1)
    return w


def threshold_for(p: np.ndarray, y: np.ndarray, kind: np.ndarray) -> float:
    def gain(t: float) -> float:
        return sum(
            float((p[(kind == k) & (y == 0)] < t).mean())
            - WRONG_DECLINE_COST * float((p[(kind == k) & (y == 1)] < t).mean())
            for k in np.unique(kind)
        )

    return max(np.arange(0.05, 0.95, 0.005), key=gain)


def report(label: str, p: np.ndarray, y: np.ndarray, kind: np.ndarray, threshold: float) -> None:
    for k in np.unique(kind):
        m = kind == k
        wrong = (p[m & (y == 1)] < threshold).mean()
        declined = (p[m & (y == 0)] < threshold).mean()
        print(
            f"  {label:15s} {k:12s} in-scope wrongly declined {wrong:.3f}  "
            f"out-of-scope declined {declined:.3f}  (n={int((m & (y == 1)).sum())}/{int((m & (y == 0)).sum())})"
        )


def rows(service) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    x, y, kind, group = [], [], [], []

    def add(question: str, reading: str, label: int, k: str, g: str) -> None:
        f = service.retriever.search(question, reading=reading).features
        x.append([f[name] for name in FEATURES])
        y.append(label)
        kind.append(k)
        group.append(g)

    for i, q in enumerate(load_questions(CALIBRATION_SET)):
        if q["type"] in ("in_scope", "out_of_scope") and not GIST_INTENT.search(q["question"]):
            add(q["question"], SHIPPED_READING, int(q["type"] == "in_scope"), "summary", f"s{i % FOLDS}")
    stories = sorted({q["story"] for q in fairytale_questions()})
    for q in fairytale_questions():
        add(q["question"], q["story"], 1, "fairytale", q["story"])
        for other in rng.choice([s for s in stories if s != q["story"]], OTHER_STORIES, replace=False):
            add(q["question"], str(other), 0, "fairytale", q["story"])
    return np.array(x), np.array(y, dtype=float), np.array(kind), np.array(group)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write coverage_model.json")
    parser.add_argument("--data-dir", type=Path, help="reuse this index folder")
    args = parser.parse_args()
    service = both_kinds_service(args.data_dir)
    x, y, kind, group = rows(service)
    w = balanced_weights(y, kind)

    cv = np.zeros(len(y))
    fold_of = {g: i % FOLDS for i, g in enumerate(sorted(set(group)))}
    folds = np.array([fold_of[g] for g in group])
    for f in range(FOLDS):
        test = folds == f
        cv[test] = predict(fit(x[~test], y[~test], w[~test]), x[test])
    model = fit(x, y, w)
    p = predict(model, x)
    threshold = threshold_for(p, y, kind)
    print(f"coverage questions: {len(y)} ({int(y.sum())} in scope); threshold {threshold:.3f}")
    print("weights:", dict(zip(FEATURES, np.round(model[0], 3), strict=True)), "bias", round(model[1], 3))
    report("fitted", p, y, kind, threshold)
    report("cross-validated", cv, y, kind, threshold_for(cv, y, kind))
    dev = [q for q in load_questions(DEV_SET) if q["type"] in ("in_scope", "out_of_scope")]
    dx = np.array(
        [[service.retriever.search(q["question"], reading=SHIPPED_READING).features[n] for n in FEATURES] for q in dev]
    )
    dp = predict(model, dx)
    wrong = [
        (q["id"], q["type"], round(float(v), 2))
        for q, v in zip(dev, dp, strict=True)
        if (v >= threshold) != (q["type"] == "in_scope")
    ]
    print(f"held-out dev set: {len(dev) - len(wrong)}/{len(dev)} decided right {wrong or ''}")
    if args.write:
        coef, b, mean, scale = model
        per_kind = {}
        for k in np.unique(kind):
            m = kind == k
            per_kind[str(k)] = {
                "in_scope_wrongly_declined": round(float((p[m & (y == 1)] < threshold).mean()), 4),
                "out_of_scope_declined": round(float((p[m & (y == 0)] < threshold).mean()), 4),
            }
        MODEL_PATH.write_text(
            json.dumps(
                {
                    "features": list(FEATURES),
                    "mean": mean.round(6).tolist(),
                    "scale": scale.round(6).tolist(),
                    "weights": coef.round(6).tolist(),
                    "bias": round(b, 6),
                    "threshold": round(float(threshold), 6),
                    "fitted_on": [CALIBRATION_SET.name, "fairytaleqa-val"],
                    "questions": len(y),
                    "fitted": per_kind,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
