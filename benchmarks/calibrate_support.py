"""Calibrate the threshold for "a passage of the reading supports this claim" (bot.knowledge.support).

    python benchmarks/calibrate_support.py [--write] [--data-dir DIR]

Two kinds of reading in one index (the shipped reading and the 23 FairytaleQA val stories, each its
own reading). Supported claims: the shipped reading's curated claims (prompts/claims.yaml) against
it, and FairytaleQA questions joined with their first answer ("Why did … ? because …": a statement
of what the story says) against their own story. Unsupported: the same texts against other readings
(four other stories each, a fixed seed), and a few claims about nothing in any reading. The score is
the best chunk's cosine similarity; the threshold maximises, with each kind weighing the same, the
share of supported claims matched plus the share of unsupported ones left without a passage. Figures
per kind (and the share of matched claims whose passage is in the right section) are printed and,
with --write, saved to benchmarks/results/calibrate_support.json.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import SHIPPED_READING, both_kinds_service, fairytale_questions, story_files
from bot.polls.claims import load_claims

PER_STORY = 15
OTHERS = 4
OFF_TOPIC = [
    "Pineapple belongs on pizza.",
    "The best way to learn a language is to move to the country where it is spoken.",
    "Electric cars will replace petrol cars within ten years.",
    "Cats make better pets than dogs for people who live in flats.",
    "Remote work makes teams less creative.",
    "Football is more exciting to watch than tennis.",
    "Cities should ban cars from their centres.",
    "Breakfast is the most important meal of the day.",
]
RESULTS = Path(__file__).with_name("results") / "calibrate_support.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    service = both_kinds_service(args.data_dir)
    stories = [p.stem for p in story_files()]
    rng = random.Random(13)
    rows: list[dict[str, object]] = []  # kind, supported, score, right_section

    def score(text: str, reading: str, gold: set[str] | None) -> tuple[float, bool]:
        found = service.nearest(text, reading=reading, n=1)
        if not found:
            return 0.0, False
        value, chunk = found[0]
        return value, gold is not None and chunk.chunk.section in gold

    for claim in load_claims():
        value, right = score(claim.claim, SHIPPED_READING, {claim.section})
        rows.append({"kind": "shipped", "supported": True, "score": value, "right": right})
        for other in rng.sample(stories, OTHERS):
            rows.append({"kind": "shipped", "supported": False, "score": score(claim.claim, other, None)[0]})
    by_story: dict[str, list[dict[str, object]]] = {}
    for q in fairytale_questions():
        if q.get("explicit") and q.get("answers"):
            by_story.setdefault(str(q["story"]), []).append(q)
    for story, questions in sorted(by_story.items()):
        for q in rng.sample(questions, min(PER_STORY, len(questions))):
            text = f"{q['question']} {q['answers'][0]}"
            value, right = score(text, story, set(q["gold"]))
            rows.append({"kind": "fairytale", "supported": True, "score": value, "right": right})
            for other in rng.sample([s for s in stories if s != story], 1):
                rows.append({"kind": "fairytale", "supported": False, "score": score(text, other, None)[0]})
    for text in OFF_TOPIC:
        for reading in [SHIPPED_READING, *rng.sample(stories, OTHERS)]:
            kind = "shipped" if reading == SHIPPED_READING else "fairytale"
            rows.append({"kind": kind, "supported": False, "score": score(text, reading, None)[0]})

    kinds = ("shipped", "fairytale")

    def rates(threshold: float, kind: str) -> tuple[float, float]:
        pos = np.array([r["score"] for r in rows if r["kind"] == kind and r["supported"]], dtype=float)
        neg = np.array([r["score"] for r in rows if r["kind"] == kind and not r["supported"]], dtype=float)
        return float((pos >= threshold).mean()), float((neg < threshold).mean())

    grid = np.round(np.arange(0.20, 0.80, 0.01), 2)
    best = max(grid, key=lambda t: (sum(sum(rates(t, k)) for k in kinds), t))
    report: dict[str, object] = {"threshold": float(best), "seconds": round(time.perf_counter() - started, 1)}
    for kind in kinds:
        matched, declined = rates(best, kind)
        supported = [r for r in rows if r["kind"] == kind and r["supported"]]
        above = [r for r in supported if float(r["score"]) >= best]  # type: ignore[arg-type]
        report[kind] = {
            "supported": len(supported),
            "unsupported": sum(1 for r in rows if r["kind"] == kind and not r["supported"]),
            "supported_matched": round(matched, 3),
            "unsupported_declined": round(declined, 3),
            "right_section_when_matched": round(sum(1 for r in above if r["right"]) / max(1, len(above)), 3),
        }
    print(json.dumps(report, indent=2))
    if args.write:
        RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
