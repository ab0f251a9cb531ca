"""Fit the coverage decision (does the reading cover this question?).

    python benchmarks/calibrate.py [QUESTIONS.jsonl ...]

Computes the coverage features of every question through the real retriever, fits a
logistic regression (numpy, L2-regularised), reports leave-one-out accuracy, checks
the held-out dev set, and writes ``bot/knowledge/coverage_model.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CALIBRATION_SET, DEV_SET, fresh_service, load_questions
from bot.knowledge.coverage import FEATURES, MODEL_PATH

L2 = 0.01


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(4000):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        w -= 0.5 * (z.T @ (p - y) / len(y) + L2 * w)
        b -= 0.5 * float((p - y).mean())
    return w, b, mean, scale


def predict(model: tuple[np.ndarray, float, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    w, b, mean, scale = model
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="*", type=Path, default=[CALIBRATION_SET])
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--write", action="store_true", help="write coverage_model.json")
    args = parser.parse_args()
    service = fresh_service()
    rows = [q for path in args.sets for q in load_questions(path) if q["type"] != "adversarial"]

    def features(question: str) -> list[float]:
        f = service.retrieve(question).features
        return [f[name] for name in FEATURES]

    x = np.array([features(q["question"]) for q in rows])
    y = np.array([q["type"] == "in_scope" for q in rows], dtype=float)
    loo = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        loo.append((predict(fit(x[keep], y[keep]), x[i : i + 1])[0] >= 0.5) == bool(y[i]))
    loo_arr = np.array(loo)
    model = fit(x, y)
    print(f"calibration questions: {len(y)} ({int(y.sum())} in scope)")
    print(
        f"leave-one-out accuracy: {loo_arr.mean():.3f}  "
        f"in-scope declined: {int((~loo_arr & (y == 1)).sum())}  "
        f"out-of-scope answered: {int((~loo_arr & (y == 0)).sum())}"
    )
    print("weights:", dict(zip(FEATURES, np.round(model[0], 3), strict=True)), "bias", round(model[1], 3))
    if args.dev.is_file():
        dev = [q for q in load_questions(args.dev) if q["type"] != "adversarial"]
        p = predict(model, np.array([features(q["question"]) for q in dev]))
        wrong = [
            (q["id"], q["type"], round(float(pi), 2))
            for q, pi in zip(dev, p, strict=True)
            if (pi >= 0.5) != (q["type"] == "in_scope")
        ]
        print(f"held-out dev set: {len(dev) - len(wrong)}/{len(dev)} decided right {wrong or ''}")
    if args.write:
        w, b, mean, scale = model
        MODEL_PATH.write_text(
            json.dumps(
                {
                    "features": list(FEATURES),
                    "mean": mean.round(6).tolist(),
                    "scale": scale.round(6).tolist(),
                    "weights": w.round(6).tolist(),
                    "bias": round(b, 6),
                    "threshold": 0.5,
                    "fitted_on": [p.name for p in args.sets],
                    "questions": len(y),
                    "leave_one_out_accuracy": round(float(loo_arr.mean()), 4),
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
