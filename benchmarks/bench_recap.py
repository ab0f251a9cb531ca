"""Benchmark of /recap: the recap of a 200-message thread (issue 17: ≤ 2 s).

    python benchmarks/bench_recap.py [--messages 200] [--runs 5] [--seed 17]

The thread is deterministic (``--seed``): members (12 of them) discussing the shipped reading in
their own words (opinions built on the reading's sentences, questions from eval/dev_qa.jsonl, some
answered, chatter: "lol", "see you Thursday"), readbot's answers to some questions, 8–45 words a
message. What is timed is what /recap does after the thread's messages are fetched: the extractive
recap (each member's message embedded once with the bundled model, k-means themes, points, open
questions, the reading searched for the passages touched) and its rendering, off a warm model and
index (one warm-up recap first, not counted), as a bot that has been up a while runs it. The
platform call that fetches the thread (conversations.replies, one page of 200) is not included.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEV_SET, fresh_service, load_questions
from bot.core.events import PastMessage, User
from bot.paths import shipped
from bot.recap.handler import RecapHandler, render

TARGET_SECONDS = 2.0
OPENERS = ["I think", "For me,", "Honestly,", "I liked how", "What struck me is that", "Agreed, and", "I'm not sure"]
CHATTER = ["lol", "same", "+1", "see you Thursday!", "thanks for organising this", "haha yes", "so true"]
REPLIES = ["Because", "I think it's because", "Probably because", "Yes, and"]


def reading_sentences() -> list[str]:
    """The shipped reading's sentences of 8–40 words (bullets and headings left out)."""
    text = (shipped("knowledge") / "dwarkesh-107-ilya-sutskever.txt").read_text(encoding="utf-8")
    lines = [line.strip().lstrip("•").strip() for line in text.splitlines()]
    found = [s.strip() for line in lines if line.endswith(".") for s in re.split(r"(?<=[.!?])\s+", line)]
    return [s for s in found if 8 <= len(s.split()) <= 40]


def thread(n: int, seed: int) -> list[PastMessage]:
    rng = random.Random(seed)
    members = [User(f"U{i:03d}", f"member{i}") for i in range(12)]
    readbot = User("UBOT", "readbot", is_bot=True)
    sentences = reading_sentences()
    questions = [q["question"] for q in load_questions(DEV_SET)]
    out = [PastMessage(readbot, "Discussion question: " + rng.choice(questions), "0")]
    while len(out) < n:
        roll, who = rng.random(), rng.choice(members)
        if roll < 0.55:
            sentence = rng.choice(sentences)
            body = sentence[0].lower() + sentence[1:]
            text = f"{rng.choice(OPENERS)} {body}"
        elif roll < 0.75:
            text = rng.choice(questions)
        elif roll < 0.85:
            text = f"{rng.choice(REPLIES)} {rng.choice(sentences).lower()}"
        elif roll < 0.93:
            text = rng.choice(CHATTER)
        else:
            who, text = readbot, "> " + rng.choice(sentences) + "\nSource: the reading"
        out.append(PastMessage(who, " ".join(text.split()[:45]), str(len(out))))
    return out[:n]


def code_version() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    load = os.getloadavg()
    print("readbot thread recap benchmark (benchmarks/bench_recap.py)")
    print(
        f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; code: {code_version()}"
    )
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min)")
    print(f"command: python benchmarks/bench_recap.py --messages {args.messages} --runs {args.runs} --seed {args.seed}")

    knowledge = fresh_service(Path(tempfile.mkdtemp(prefix="readbot-bench-recap-")))
    knowledge.warm()
    handler = RecapHandler(outbox=None, knowledge=knowledge)  # type: ignore[arg-type]
    messages = thread(args.messages, args.seed)
    members = sum(not m.user.is_bot for m in messages)
    words = sum(len(m.text.split()) for m in messages)
    print(f"\nthread: {len(messages)} messages ({members} from members, {words:,} words), seed {args.seed}")

    recap, _ = handler.recap(messages, None)  # warm-up (not counted)
    walls, cpus = [], []
    for _ in range(args.runs):
        wall, cpu = time.perf_counter(), time.process_time()
        recap, by_llm = handler.recap(messages, None)
        reply = render(recap)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert not by_llm
    median = statistics.median(walls)
    # what the model alone takes here, to tell this machine's load from the recap's own work
    texts = [" ".join(m.text.split()[:48]) for m in messages if not m.user.is_bot and m.text.strip()]
    started = time.perf_counter()
    knowledge.index.embedder.embed_documents(texts)
    embed_all = time.perf_counter() - started
    singles = []
    for text in texts[:30]:
        started = time.perf_counter()
        knowledge.index.embedder.embed_query(text)
        singles.append(time.perf_counter() - started)
    print(f"\nruns: {args.runs}; wall: median {median:.2f} s (min {min(walls):.2f}, max {max(walls):.2f})")
    print(f"CPU (process time, all threads): median {statistics.median(cpus):.2f} s")
    print(
        f"the model alone (a gauge of this machine's load): all {len(texts)} members' messages embedded in "
        f"{embed_all:.2f} s (the recap embeds the distinct ones of 3+ words); one message embedded: p50 "
        f"{statistics.median(singles) * 1000:.1f} ms (bench_retrieval's one query at load ~2: p50 3.8 ms)"
    )
    print(
        f"recap: {recap.points} points in {len(recap.themes)} themes, {len(recap.open_questions)} open questions, "
        f"{len(recap.passages)} passages; {len(reply.text):,} characters"
    )
    print(f"target: <= {TARGET_SECONDS:g} s -> {'met' if median <= TARGET_SECONDS else 'NOT met'}")
    print("\nthe recap posted:\n" + reply.text)
    knowledge.close()


if __name__ == "__main__":
    main()
