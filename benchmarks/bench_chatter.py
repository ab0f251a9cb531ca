"""What chatter around a question costs, with and without leaving it out of the search.

    python benchmarks/bench_chatter.py [--data-dir DIR]

Every FairytaleQA val question is asked of its story three ways: as written, wrapped in a
member's chatter ("hey so random q, … did I get that right?", one wrapping per question drawn
with a fixed seed), and wrapped with :func:`bot.knowledge.chatter.without_chatter` switched off.
Printed for each: top-1, top-3, wrongly declined, and the share of questions whose reply is the
same as the plain question's. The wrappings are the kinds :mod:`bot.knowledge.chatter` knows, so
this measures what chatter does to the models and that leaving it out undoes it, not how many
kinds of chatter members use.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import both_kinds_service, fairytale_questions

OPENERS = [
    "",
    "hey so random q, ",
    "ok dumb q but ",
    "so I was wondering, ",
    "hi everyone, quick question: ",
    "so from what I understand, ",
    "hmm ",
    "btw ",
]
TRAILERS = ["", " did I get that right?", " lol", ", thanks", " or is there nuance to it?", ", right?"]
SEED = 11


def wrapped(question: str, rng: np.random.Generator) -> str:
    opener, trailer = OPENERS[rng.integers(len(OPENERS))], TRAILERS[rng.integers(len(TRAILERS))]
    if not opener and not trailer:
        opener = "hey so random q, "
    core = question[0].lower() + question[1:] if opener else question
    if trailer and not trailer.endswith("?"):
        core = core.rstrip("?")
    return opener + core + trailer


def measure(service, questions, texts) -> tuple[dict[str, float], list[str]]:  # type: ignore[no-untyped-def]
    top1, top3, wrong, bodies = [], [], [], []
    for q, text in zip(questions, texts, strict=True):
        a = service.ask(text, reading=q["story"])
        sections = [s.section for s in a.sources]
        top1.append(bool(sections[:1] and sections[0] in q["gold"]))
        top3.append(bool(set(sections[:3]) & set(q["gold"])))
        wrong.append(not a.grounded)
        bodies.append(a.body)
    return {"top1": float(np.mean(top1)), "top3": float(np.mean(top3)), "wrong": float(np.mean(wrong))}, bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="reuse this index folder (both kinds of reading)")
    args = parser.parse_args()
    import bot.knowledge.lexical as lexical
    import bot.knowledge.retrieval as retrieval

    service = both_kinds_service(args.data_dir)
    questions = fairytale_questions()
    rng = np.random.default_rng(SEED)
    chatty = [wrapped(q["question"], rng) for q in questions]
    plain, plain_bodies = measure(service, questions, [q["question"] for q in questions])
    left_out, left_out_bodies = measure(service, questions, chatty)
    kept = lexical.without_chatter, retrieval.without_chatter
    lexical.without_chatter = retrieval.without_chatter = lambda q: q  # type: ignore[assignment]
    try:
        searched, searched_bodies = measure(service, questions, chatty)
    finally:
        lexical.without_chatter, retrieval.without_chatter = kept
    print(f"FairytaleQA val, {len(questions)} questions; e.g. {chatty[0]!r}")
    print(f"{'':34}{'top-1':>8}{'top-3':>8}{'wrongly declined':>18}{'same reply as plain':>21}")
    for name, m, bodies in (
        ("as written", plain, plain_bodies),
        ("chatty, chatter left out", left_out, left_out_bodies),
        ("chatty, chatter searched", searched, searched_bodies),
    ):
        same = np.mean([b == p for b, p in zip(bodies, plain_bodies, strict=True)])
        print(f"{name:34}{m['top1']:>8.3f}{m['top3']:>8.3f}{m['wrong']:>18.3f}{same:>21.3f}")


if __name__ == "__main__":
    main()
