"""Retrieval, coverage, answer, speed and memory benchmark of readbot's knowledge core.

    python benchmarks/bench_retrieval.py [--data-dir DIR] [--ingest-mb 50] [--rounds 3]

Two kinds of reading in one index, each question set scored for readbot beside
baselines over the same sections, in the same run:

* the dev set (``../shared/eval/dev_qa.jsonl``) on the shipped reading;
* the FairytaleQA validation stories (``../shared/eval/fairytaleqa-val``), each story
  its own reading. A story's questions are asked of it with ``--reading`` (top-1,
  top-3, wrongly declined, answer words), of ``OTHER_STORIES`` other stories (out of
  scope: should be declined; split by whether the question names a character of its
  own story) and of the whole index without ``--reading`` (right reading).

Baselines: BM25 over sections (bm25s defaults: its own tokenizer, English stopwords),
dense over the same sentence vectors (section = its best sentence), the one best BM25
sentence as an answer, and one dense similarity threshold as a coverage decision (its
best balanced accuracy, i.e. fitted on the very questions it is scored on).

"Answer words": for an explicit question, the share of each annotator's answer words
(stopwords left out) that the reply contains, averaged over annotators; a declined
reply counts 0. "Words per reply": the ``answer`` field (citation line included), over
answered questions.

Then speed (warm answer p50/p95 beside one query embedding, cold ``readbot ask``),
peak memory of ``readbot ask`` and ``readbot ingest`` (shipped reading), and a
generated single-file corpus of ``--ingest-mb`` MB ingested by ``readbot ingest`` in its
own process: chunks/s and peak memory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (
    DEV_SET,
    SHIPPED_READING,
    both_kinds_service,
    fairytale_questions,
    load_questions,
    machine,
)
from bot.knowledge.lexical import LexicalIndex
from bot.knowledge.retrieval import Retriever
from bot.knowledge.service import KnowledgeService
from bot.knowledge.terms import STOPWORDS, words
from bot.paths import shipped

OTHER_STORIES = 3
SEED = 2024  # not the calibration seed: other pairings of questions and stories


def answer_recall(reply: str, answers: list[str]) -> float:
    said = set(words(reply))
    shares = []
    for a in answers:
        aw = [w for w in words(a) if w not in STOPWORDS] or words(a)
        shares.append(sum(w in said for w in aw) / len(aw) if aw else 0.0)
    return float(np.mean(shares)) if shares else 0.0


def names_a_character(question: str, story_words: set[str]) -> bool:
    tokens = question.replace("?", " ").split()
    return any(t[:1].isupper() and i > 0 and t.strip(",.'’s").lower() in story_words for i, t in enumerate(tokens))


class Baselines:
    """BM25 (bm25s defaults) and dense-only section rankers over the index's own sections."""

    def __init__(self, service: KnowledgeService) -> None:
        import bm25s

        self.lexical: LexicalIndex = service.retriever.lexical
        self.service = service
        self.dense = Retriever(
            service.index, window_weight=0.0, section_weight=0.0, second_weight=0.0, rerank_passages=()
        )
        self.bm25: dict[str, tuple[object, list[int]]] = {}
        self.sentence_bm25: dict[str, tuple[object, list[int]]] = {}
        for reading in self.lexical.readings():
            ids = [s for s, ref in enumerate(self.lexical.sections) if ref.reading == reading]
            texts = [
                ref.heading + " " + " ".join(self.lexical.chunks[i].chunk.text for i in ref.chunks)
                for ref in (self.lexical.sections[s] for s in ids)
            ]
            model = bm25s.BM25()
            model.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
            self.bm25[reading] = (model, ids)
            chunk_ids = [i for i, c in enumerate(self.lexical.chunks) if c.reading == reading]
            sentence_model = bm25s.BM25()
            sentence_model.index(
                bm25s.tokenize(
                    [self.lexical.chunks[i].chunk.text for i in chunk_ids], stopwords="en", show_progress=False
                ),
                show_progress=False,
            )
            self.sentence_bm25[reading] = (sentence_model, chunk_ids)

    @staticmethod
    def _scores(model, question: str) -> np.ndarray:  # type: ignore[no-untyped-def]
        import bm25s

        tokens = bm25s.tokenize([question], stopwords="en", show_progress=False, return_ids=False)[0]
        return np.asarray(model.get_scores(tokens)) if tokens else np.zeros(model.scores["num_docs"])

    def bm25_sections(self, question: str, reading: str) -> list[str]:
        model, ids = self.bm25[reading]
        order = np.argsort(-self._scores(model, question), kind="stable")
        return [self.lexical.sections[ids[i]].heading for i in order]

    def bm25_sentence(self, question: str, reading: str) -> str:
        model, ids = self.sentence_bm25[reading]
        return self.lexical.chunks[ids[int(np.argmax(self._scores(model, question)))]].chunk.text

    def dense_sections(self, question: str, reading: str) -> tuple[list[str], float]:
        r = self.dense.search(question, reading=reading, k=10)
        return [h.section for h in r.hits], r.features.get("dense", 0.0)


def fmt(x: float) -> str:
    return f"{x:.3f}"


def table(rows: dict[str, dict[str, str]], columns: list[str]) -> None:
    width = max(len(c) for c in columns) + 2
    print(" " * 30 + "".join(f"{c:>{width}s}" for c in columns))
    for name, row in rows.items():
        print(f"{name:30s}" + "".join(f"{row.get(c, ''):>{width}s}" for c in columns))


def balanced_best_threshold(inside: list[float], outside: list[float]) -> float:
    best = 0.0
    for t in np.unique(np.r_[inside, outside]):
        best = max(best, (np.mean(np.array(inside) >= t) + np.mean(np.array(outside) < t)) / 2)
    return float(best)


def bench_dev(service: KnowledgeService, base: Baselines) -> None:
    rows = [q for q in load_questions(DEV_SET) if q["type"] in ("in_scope", "out_of_scope")]
    inscope = [q for q in rows if q["type"] == "in_scope"]
    outscope = [q for q in rows if q["type"] == "out_of_scope"]
    result: dict[str, dict[str, str]] = {}
    top1 = top3 = wrong = right_reading = 0
    for q in inscope:
        a = service.ask(q["question"], reading=SHIPPED_READING)
        sections = [s.section for s in a.sources]
        top1 += bool(sections[:1] and sections[0] in q["gold"])
        top3 += bool(set(sections[:3]) & set(q["gold"]))
        wrong += not a.grounded
        free = service.ask(q["question"])
        right_reading += bool(free.sources and free.sources[0].reading == SHIPPED_READING)
    declined = sum(not service.ask(q["question"], reading=SHIPPED_READING).grounded for q in outscope)
    n = len(inscope)
    result["readbot"] = {
        "top-1": f"{top1}/{n}",
        "top-3": f"{top3}/{n}",
        "wrongly declined": f"{wrong}/{n}",
        "out-of-scope declined": f"{declined}/{len(outscope)}",
        "right reading w/o --reading": f"{right_reading}/{n}",
    }
    for name, rank in (
        ("BM25 over sections", lambda q: base.bm25_sections(q, SHIPPED_READING)),
        ("dense (sentence vectors, max)", lambda q: base.dense_sections(q, SHIPPED_READING)[0]),
    ):
        t1 = sum(rank(q["question"])[:1] == [g] for q in inscope for g in q["gold"][:1])
        t3 = sum(bool(set(rank(q["question"])[:3]) & set(q["gold"])) for q in inscope)
        result[name] = {"top-1": f"{t1}/{n}", "top-3": f"{t3}/{n}"}
    print(f"\n== dev set: {DEV_SET} ({len(rows)} questions, adversarial ones left to the tests)")
    table(result, ["top-1", "top-3", "wrongly declined", "out-of-scope declined", "right reading w/o --reading"])


def bench_fairytales(service: KnowledgeService, base: Baselines) -> None:
    questions = fairytale_questions()
    stories = sorted({q["story"] for q in questions})
    rng = np.random.default_rng(SEED)
    lexical = base.lexical
    m: dict[str, list[float]] = {
        k: []
        for k in (
            "top1",
            "top3",
            "wrong",
            "free",
            "recall",
            "words",
            "oos",
            "oos_named",
            "oos_unnamed",
            "bm_top1",
            "bm_top3",
            "de_top1",
            "de_top3",
            "bm_recall",
            "bm_words",
            "de_in",
            "de_out",
        )
    }
    for q in questions:
        a = service.ask(q["question"], reading=q["story"])
        sections = [s.section for s in a.sources]
        m["top1"].append(bool(sections[:1] and sections[0] in q["gold"]))
        m["top3"].append(bool(set(sections[:3]) & set(q["gold"])))
        m["wrong"].append(not a.grounded)
        if q["explicit"]:
            m["recall"].append(answer_recall(a.text, q["answers"]) if a.grounded else 0.0)
            sentence = base.bm25_sentence(q["question"], q["story"])
            m["bm_recall"].append(answer_recall(sentence, q["answers"]))
            m["bm_words"].append(len(sentence.split()))
        if a.grounded:
            m["words"].append(len(a.text.split()))
        free = service.ask(q["question"])
        m["free"].append(bool(free.sources and free.sources[0].reading == q["story"]))
        bm = base.bm25_sections(q["question"], q["story"])
        m["bm_top1"].append(bm[0] in q["gold"])
        m["bm_top3"].append(bool(set(bm[:3]) & set(q["gold"])))
        de, de_score = base.dense_sections(q["question"], q["story"])
        m["de_top1"].append(bool(de[:1] and de[0] in q["gold"]))
        m["de_top3"].append(bool(set(de[:3]) & set(q["gold"])))
        m["de_in"].append(de_score)
        named = names_a_character(q["question"], lexical.vocabulary[q["story"]].words)
        for other in rng.choice([s for s in stories if s != q["story"]], OTHER_STORIES, replace=False):
            declined = not service.ask(q["question"], reading=str(other)).grounded
            m["oos"].append(declined)
            m["oos_named" if named else "oos_unnamed"].append(declined)
            m["de_out"].append(base.dense_sections(q["question"], str(other))[1])
    readbot_balanced = (1 - np.mean(m["wrong"]) + np.mean(m["oos"])) / 2
    result = {
        "readbot": {
            "top-1": fmt(np.mean(m["top1"])),
            "top-3": fmt(np.mean(m["top3"])),
            "wrongly declined": fmt(np.mean(m["wrong"])),
            "others declined": f"{np.mean(m['oos']):.3f}",
            "  naming/not": f"{np.mean(m['oos_named']):.3f}/{np.mean(m['oos_unnamed']):.3f}",
            "right reading": fmt(np.mean(m["free"])),
            "answer words": fmt(np.mean(m["recall"])),
            "words/reply": f"{np.mean(m['words']):.1f}",
            "balanced acc.": fmt(readbot_balanced),
        },
        "BM25 over sections": {"top-1": fmt(np.mean(m["bm_top1"])), "top-3": fmt(np.mean(m["bm_top3"]))},
        "dense (sentence vectors, max)": {
            "top-1": fmt(np.mean(m["de_top1"])),
            "top-3": fmt(np.mean(m["de_top3"])),
            "balanced acc.": fmt(balanced_best_threshold(m["de_in"], m["de_out"])),
        },
        "the one best BM25 sentence": {
            "answer words": fmt(np.mean(m["bm_recall"])),
            "words/reply": f"{np.mean(m['bm_words']):.1f}",
        },
    }
    print(
        f"\n== FairytaleQA val: {len(stories)} stories, {len(questions)} questions "
        f"({len(m['recall'])} explicit); out of scope: each asked of {OTHER_STORIES} other stories "
        f"({len(m['oos_named'])} naming a character of their own story, {len(m['oos_unnamed'])} not)"
    )
    table(
        result,
        [
            "top-1",
            "top-3",
            "wrongly declined",
            "others declined",
            "  naming/not",
            "right reading",
            "answer words",
            "words/reply",
            "balanced acc.",
        ],
    )
    print("(dense balanced accuracy: the best single threshold on these very questions)")


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms"


def bench_speed(service: KnowledgeService, rounds: int) -> None:
    questions = [q["question"] for q in load_questions(DEV_SET) if q["type"] != "adversarial"]
    questions += [q["question"] for q in fairytale_questions()[::25]]
    embedder = service.index.embedder
    reranker = service.retriever.reranker
    pairs = sum(service.retriever.rerank_passages)
    service.ask(questions[0])
    embed, answer, rerank = [], [], []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            embedder.embed_query(q)
            embed.append(time.perf_counter() - t)
            t = time.perf_counter()
            service.ask(q)
            answer.append(time.perf_counter() - t)
            sentences = [p.text for s in service.retrieve(q).hits for p in s.passages][:pairs]
            t = time.perf_counter()
            reranker.score(q, sentences)
            rerank.append(time.perf_counter() - t)
    print(f"\n== speed ({len(questions)} questions × {rounds}, index of {len(service.readings())} readings)")
    print(f"machine: {machine()}")
    print(f"embed one query:          {percentiles(embed)}")
    print(f"cross-encoder, {pairs} pairs:  {percentiles(rerank)}  (the best sections' sentences, timed alone)")
    print(
        f"warm answer (no LLM):     {percentiles(answer)}  "
        f"(p95 / embed p95 = {np.percentile(answer, 95) / np.percentile(embed, 95):.2f})"
    )


PEAK_RSS = (
    "import sys\nfrom bot.cli import main\ntry:\n    code = main(sys.argv[1:])\nfinally:\n"
    "    print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1],"
    " file=sys.stderr)\nsys.exit(code)"
)


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall time, peak resident memory (VmHWM, kB) and stdout of one readbot command."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, *args], env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - t, int(done.stderr.strip().splitlines()[-1]), done.stdout


def bench_cold(runs: int = 3) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="readbot-cold-"))
    env = {**os.environ, "READBOT_DATA_DIR": str(data_dir)}
    _, ingest_kb, _ = run_measured(["ingest"], env)
    readbot = Path(sys.executable).with_name("readbot")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [str(readbot), "ask", "What is a value function?"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - t)
    _, ask_kb, _ = run_measured(["ask", "What is a value function?"], env)
    print("\n== cold start and memory (shipped reading)")
    print(
        f"cold `readbot ask`:       {', '.join(f'{t:.2f} s' for t in times)} (median {statistics.median(times):.2f} s)"
    )
    print(f"peak memory `readbot ask`:    {ask_kb / 1024:.0f} MB")
    print(f"peak memory `readbot ingest`: {ingest_kb / 1024:.0f} MB (first index of the reading)")


def generated_file(path: Path, megabytes: float, seed: int = 7) -> int:
    """One markdown file of prose sections, sentences of the shipped reading's words reshuffled."""
    rng = np.random.default_rng(seed)
    vocabulary = (shipped("knowledge") / f"{SHIPPED_READING}.txt").read_text(encoding="utf-8").split()
    written = 0
    with path.open("w", encoding="utf-8") as out:
        section = 0
        while written < megabytes * 1_000_000:
            lines = [f"## Section {section}", ""]
            for _ in range(6):
                sentences = [
                    " ".join(rng.choice(vocabulary, int(rng.integers(8, 30)))).capitalize() + "."
                    for _ in range(int(rng.integers(3, 8)))
                ]
                lines += [" ".join(sentences), ""]
            text = "\n".join(lines) + "\n"
            out.write(text)
            written += len(text.encode())
            section += 1
    return written


def bench_ingest(megabytes: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="readbot-corpus-"))
    path = folder / "generated.md"
    size = generated_file(path, megabytes)
    env = {**os.environ, "READBOT_DATA_DIR": str(Path(tempfile.mkdtemp(prefix="readbot-ingest-")))}
    took, kb, out = run_measured(["ingest", str(path)], env)
    chunks = int(out.split(";")[1].split()[0]) if ";" in out else 0
    print(f"\n== ingest of one generated {size / 1e6:.1f} MB file by `readbot ingest`")
    print(
        f"ingest: {chunks} chunks in {took:.1f} s = {chunks / took:.0f} chunks/s "
        f"({size / 1e6 / took:.2f} MB/s), peak memory {kb / 1024:.0f} MB"
    )
    took, _, out = run_measured(["ingest", str(path)], env)
    print(f"re-ingest, nothing changed: {took:.2f} s ({out.strip()})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, help="reuse this index folder (both kinds of reading)")
    parser.add_argument("--ingest-mb", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["quality", "speed"], help="run one half")
    args = parser.parse_args()
    t = time.perf_counter()
    service = both_kinds_service(args.data_dir)
    chunks = service.index.count()
    print(
        f"index: {len(service.readings())} readings, {chunks} chunks (built or checked in "
        f"{time.perf_counter() - t:.1f} s)"
    )
    steps: list[Callable[[], None]] = []
    if args.only != "speed":
        base = Baselines(service)
        steps += [lambda: bench_dev(service, base), lambda: bench_fairytales(service, base)]
    if args.only != "quality":
        steps += [lambda: bench_speed(service, args.rounds), bench_cold, lambda: bench_ingest(args.ingest_mb)]
    for step in steps:
        step()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
