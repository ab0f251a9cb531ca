"""Answer latency with and without a progress bound (spoiler-safe answers).

    python benchmarks/bench_progress.py [--data-dir DIR] [--rounds 2]

One index of the shipped reading and the 23 FairytaleQA validation stories (each its own
reading, as ``bench_retrieval.py`` builds it). Every story question is answered warm, in the
same process, three ways: with ``--reading`` only (no bound); with the group's progress set to
the middle of the story; and with it set just before the section that answers the question
(where a question is most often answered only further on, so the unbounded check runs too).
Prints p50/p95/mean per way, how often the reply was "further than the group has read", and the
Chroma query alone with and without the ``where`` bound.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import both_kinds_service, fairytale_questions
from bot.knowledge.index import Bound


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def line(name: str, times: list[float], extra: str = "") -> str:
    ms = [t * 1000 for t in times]
    return (
        f"{name:<34} n={len(ms):<5} p50 {percentile(ms, 50):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms   "
        f"mean {statistics.fmean(ms):6.1f} ms{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="readbot-progress-"))
    started = time.perf_counter()
    service = both_kinds_service(data_dir)
    service.warm()
    print(f"index: {service.index.count()} chunks, built/opened in {time.perf_counter() - started:.1f} s")
    questions = fairytale_questions()
    counts = {r: len(service.sections(r)) for r in {q["story"] for q in questions}}

    ways = {
        "no bound (--reading only)": lambda q: None,
        "bound: middle of the story": lambda q: counts[q["story"]] // 2,
        "bound: just before the answer": lambda q: max(min(int(g.split()[-1]) for g in q["gold"]) - 2, 0),
    }
    for q in questions[:20]:  # warm every code path once
        for upto in (f(q) for f in ways.values()):
            service.ask(q["question"], reading=q["story"], upto=upto)
    times: dict[str, list[float]] = {name: [] for name in ways}
    further: dict[str, int] = dict.fromkeys(ways, 0)
    for _ in range(args.rounds):
        for q in questions:
            for name, bound_of in ways.items():
                upto = bound_of(q)
                t = time.perf_counter()
                answer = service.ask(q["question"], reading=q["story"], upto=upto)
                times[name].append(time.perf_counter() - t)
                further[name] += answer.further
    print(f"\nanswer latency, warm, {len(questions)} FairytaleQA questions x {args.rounds} rounds:")
    for name in ways:
        share = further[name] / len(times[name])
        print(line(name, times[name], f"   'further on' {share:5.1%}"))

    vectors = [service.index.embedder.embed_query(q["question"]) for q in questions[:300]]
    dense: dict[str, list[float]] = {"chroma query, no bound": [], "chroma query, where bound": []}
    for vector, q in zip(vectors, questions[:300], strict=True):
        for name, bound in (
            ("chroma query, no bound", None),
            ("chroma query, where bound", Bound(q["story"], counts[q["story"]] // 2)),
        ):
            t = time.perf_counter()
            service.index.query(vector, 100, reading=q["story"], bound=bound)
            dense[name].append(time.perf_counter() - t)
    print("\nthe dense side alone (100 nearest, 300 questions):")
    for name, values in dense.items():
        print(line(name, values))
    service.close()


if __name__ == "__main__":
    main()
