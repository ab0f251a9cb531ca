"""Where FairytaleQA's top-1, top-3 and answer-words figures are lost: retrieval or the quote.

    python benchmarks/where_lost.py [--data-dir DIR]

Over the FairytaleQA validation questions, each asked of its own story (``--reading``):

* how deep the gold section lies in the first stage's ranking (dense + BM25 fusion, no
  cross-encoder): what a reranker of the best sections could at most recover;
* answer words (explicit questions, as in ``bench_retrieval.py``) when the cited section is the
  gold one and when it is not;
* with the gold section cited: the answer words of the reply beside the best single sentence of
  that section (an oracle: what a perfect choice of one sentence would reach) and beside the
  sentence the cross-encoder alone scores highest (what the bundled reranker can tell).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_retrieval import answer_recall
from benchmarks.common import both_kinds_service, fairytale_questions
from bot.knowledge.retrieval import Retriever, without_names

DEPTHS = (1, 2, 3, 5, 6, 8, 10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, help="reuse this index folder (both kinds of reading)")
    args = parser.parse_args()
    service = both_kinds_service(args.data_dir)
    first_stage = Retriever(service.index, rerank_passages=())
    lexical = service.retriever.lexical
    reranker = service.retriever.reranker
    depth: list[int] = []
    right: list[float] = []
    wrong: list[float] = []
    oracle: list[float] = []
    by_ce: list[float] = []
    for q in fairytale_questions():
        story = q["story"]
        ranked = [h.section for h in first_stage.search(q["question"], reading=story, k=max(DEPTHS)).hits]
        depth.append(next((i for i, s in enumerate(ranked) if s in q["gold"]), len(ranked)))
        if not q["explicit"]:
            continue
        answer = service.ask(q["question"], reading=story)
        recall = answer_recall(answer.text, q["answers"]) if answer.grounded else 0.0
        cited = answer.sources[0].section if answer.sources else None
        if cited not in q["gold"]:
            wrong.append(recall)
            continue
        right.append(recall)
        ref = next(s for s in lexical.sections if s.reading == story and s.heading == cited)
        sentences = [lexical.chunks[i].chunk.text for i in ref.chunks]
        oracle.append(max(answer_recall(s, q["answers"]) for s in sentences))
        vocab = lexical.vocabulary[story]
        asked = without_names(lexical.corrected(q["question"]), vocab.subjects)
        logits = reranker.score(asked, [f"{cited}: {s}" for s in sentences])
        by_ce.append(answer_recall(sentences[int(np.argmax(logits))], q["answers"]))
    depths = np.array(depth)
    print(f"== FairytaleQA val, {len(depths)} questions, each asked of its own story")
    print("gold section within the first stage's top k (no cross-encoder):")
    print("  " + "  ".join(f"k={k}: {np.mean(depths < k):.3f}" for k in DEPTHS))
    explicit = len(right) + len(wrong)
    print(f"answer words, {explicit} explicit questions: {np.mean(right + wrong):.3f} in all")
    print(f"  gold section cited ({len(right)}): {np.mean(right):.3f}")
    print(f"  another section cited ({len(wrong)}): {np.mean(wrong):.3f}")
    print("  with the gold section cited, one sentence of it:")
    print(f"    the best sentence (oracle): {np.mean(oracle):.3f}")
    print(f"    the cross-encoder's top sentence: {np.mean(by_ce):.3f}")


if __name__ == "__main__":
    main()
