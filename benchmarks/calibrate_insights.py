"""How the grouping of uncovered questions (``bot.ask.insights``) was given its threshold.

Ground truth from readings readbot has never been tuned on: in FairytaleQA (23 stories, each its own
reading, questions written by different annotators), two questions about the same story with the same
answer ask the same thing (a pair that should be grouped); two with different answers don't (a pair that
should not). For each threshold this prints, on two halves of the stories separately (so a threshold is
checked on readings it wasn't read off), the precision and recall of "grouped" over those pairs, and
how many distinct questions of the shipped reading's question set (``dev_qa.jsonl``) would be wrongly
merged.

    .venv/bin/python benchmarks/calibrate_insights.py [--shared /work/shared]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from bot.ask.insights import content_words, group_similar

FRAMES = ("In the story, ", "Quick question: ", "Does the reading say ", "Can someone explain ")


def reworded(question: str, n: int) -> str:
    """The same question as another member might type it: framed differently, without its question
    mark, and (for every other question) with one content word left out."""
    text = FRAMES[n % len(FRAMES)] + question.rstrip("?").lower()
    words = sorted(content_words(question))
    if n % 2 and len(words) >= 3:
        drop = words[n % len(words)]
        text = re.sub(rf"\b{re.escape(drop)}\w*", "", text, count=1)
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=Path("/work/shared"))
    args = parser.parse_args()
    rows = [json.loads(line) for line in (args.shared / "eval/fairytaleqa-val/questions.jsonl").open()]
    stories = sorted({r["story"] for r in rows})
    dev = [json.loads(line)["question"] for line in (args.shared / "eval/dev_qa.jsonl").open()]
    sets = {
        "stories A": [r["question"] for r in rows if r["story"] in set(stories[::2])],
        "stories B": [r["question"] for r in rows if r["story"] in set(stories[1::2])],
        "shipped reading": [q for q in dev if content_words(q)],
    }
    print(f"{len(rows)} FairytaleQA questions in {len(stories)} stories; {len(sets['shipped reading'])} dev questions")
    print("merged: distinct questions wrongly joined to another; found: rewordings grouped with their question")
    print("threshold | " + " | ".join(f"{name}: merged found" for name in sets))
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.67, 0.75):
        cells = []
        for questions in sets.values():
            distinct = list(dict.fromkeys(questions))
            merged = (len(distinct) - len(group_similar(distinct, t))) / len(distinct)
            found = sum(len(group_similar([q, reworded(q, n)], t)) == 1 for n, q in enumerate(distinct)) / len(distinct)
            cells.append(f"{merged:.3f} {found:.3f}")
        print(f"{t:9.2f} | " + " | ".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
