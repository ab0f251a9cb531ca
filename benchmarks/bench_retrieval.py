"""Retrieval and answer benchmark for readbot's knowledge core.

    python benchmarks/bench_retrieval.py [QUESTIONS.jsonl] [--corpus-mb 5]

Runs the question set (default ../shared/eval/dev_qa.jsonl) through readbot and the
textbook baselines side by side in the same run, then measures speed and memory:

* readbot (hybrid dense + BM25 over structure-aware chunks, calibrated coverage);
* readbot dense only (same chunks, no BM25);
* textbook: RecursiveCharacterTextSplitter 1000/200 + the same embeddings + Chroma
  top-4 through langchain-chroma (a chunk's section is the one most of it falls in);
* BM25 alone over the same structure-aware chunks.

Baselines have no "not covered" decision: they always answer.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEV_SET, fresh_service, load_questions
from bot.knowledge.chunking import split_sections
from bot.knowledge.retrieval import Retriever
from bot.knowledge.terms import content_terms
from bot.paths import shipped

READING = shipped("knowledge") / "dwarkesh-107-ilya-sutskever.txt"
Ranker = Callable[[str], tuple[list[str], bool]]  # question -> (sections best first, covered)


def score(questions: list[dict], rank: Ranker) -> dict[str, str]:
    inscope = [q for q in questions if q["type"] == "in_scope"]
    outscope = [q for q in questions if q["type"] == "out_of_scope"]
    top1 = top3 = 0
    rr = []
    declined_in = 0
    for q in inscope:
        sections, covered = rank(q["question"])
        ranks = [i for i, s in enumerate(sections) if s in q["gold"]]
        top1 += bool(ranks and ranks[0] == 0)
        top3 += bool(ranks and ranks[0] < 3)
        rr.append(1 / (ranks[0] + 1) if ranks else 0.0)
        declined_in += not covered
    declined_out = sum(not rank(q["question"])[1] for q in outscope)
    n = len(inscope)
    return {
        "top-1": f"{top1}/{n}",
        "top-3": f"{top3}/{n}",
        "MRR": f"{np.mean(rr):.3f}",
        "out-of-scope declined": f"{declined_out}/{len(outscope)}",
        "in-scope wrongly declined": f"{declined_in}/{n}",
    }


def readbot_ranker(retriever: Retriever) -> Ranker:
    def rank(question: str) -> tuple[list[str], bool]:
        r = retriever.search(question, k=10)
        return [h.section for h in r.hits], r.covered

    return rank


def textbook_ranker(embeddings) -> Ranker:  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    text = READING.read_text(encoding="utf-8")
    spans = []  # (start offset, heading) of each section
    _, sections = split_sections(text)
    for s in sections:
        spans.append((text.index(s.lines[0]), s.heading))
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
    docs = splitter.create_documents([text])
    for d in docs:
        start = d.metadata["start_index"]
        end = start + len(d.page_content)
        overlap = {}
        for i, (s_start, heading) in enumerate(spans):
            s_end = spans[i + 1][0] if i + 1 < len(spans) else len(text)
            overlap[heading] = max(0, min(end, s_end) - max(start, s_start))
        d.metadata = {"section": max(overlap, key=overlap.get)}
    client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
    store = Chroma.from_documents(docs, embeddings, client=client, collection_name="textbook")

    def rank(question: str) -> tuple[list[str], bool]:
        hits = store.similarity_search(question, k=4)
        return list(dict.fromkeys(h.metadata["section"] for h in hits)), True

    return rank


def bm25_ranker(retriever: Retriever) -> Ranker:
    lexical = retriever.lexical

    def rank(question: str) -> tuple[list[str], bool]:
        scores = lexical.scores(content_terms(question))
        order = np.argsort(-scores)
        return list(dict.fromkeys(lexical.chunks[i].chunk.section for i in order)), True

    return rank


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms"


def latency(service, questions: list[str], rounds: int) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    embed, answer = [], []
    embedder = service.index.embedder
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            embedder.embed_query(q)
            embed.append(time.perf_counter() - t)
            t = time.perf_counter()
            service.ask(q)
            answer.append(time.perf_counter() - t)
    return embed, answer


PEAK_RSS = (
    "import sys\nfrom bot.cli import main\ntry:\n    main(sys.argv[1:])\nfinally:\n"
    "    print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1],"
    " file=sys.stderr)"
)


def peak_rss_kb(args: list[str], env: dict[str, str]) -> int:
    """Peak resident memory (VmHWM) of one readbot command, reported by the process itself."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return int(done.stderr.strip().splitlines()[-1])


def cold_ask(data_dir: Path, runs: int = 3) -> tuple[list[float], int, int]:
    """Wall time of `readbot ask` in a new process on an existing index, and the peak
    memory of `readbot ingest` (first index) and of `readbot ask`."""
    readbot = Path(sys.executable).with_name("readbot")
    env = {**os.environ, "READBOT_DATA_DIR": str(data_dir)}
    ingest_kb = peak_rss_kb(["ingest"], env)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [str(readbot), "ask", "What is a value function?"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - t)
    ask_kb = peak_rss_kb(["ask", "What is a value function?"], env)
    return times, ask_kb, ingest_kb


def generated_corpus(folder: Path, megabytes: float, seed: int = 7) -> int:
    """Markdown files shaped like the reading (headings, nested bullets), words reshuffled."""
    rng = np.random.default_rng(seed)
    words = READING.read_text(encoding="utf-8").split()
    written = 0
    n = 0
    while written < megabytes * 1_000_000:
        lines = [f"# Generated reading {n}", ""]
        for s in range(12):
            lines += [f"## Section {n}.{s} " + " ".join(rng.choice(words, 5)), ""]
            for _ in range(8):
                lines.append("- " + " ".join(rng.choice(words, int(rng.integers(15, 40)))) + ".")
                lines.append("  - " + " ".join(rng.choice(words, int(rng.integers(10, 25)))) + ".")
            lines.append("")
        text = "\n".join(lines)
        (folder / f"generated-{n:03d}.md").write_text(text, encoding="utf-8")
        written += len(text.encode())
        n += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("questions", nargs="?", type=Path, default=DEV_SET)
    parser.add_argument("--corpus-mb", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    data_dir = Path(tempfile.mkdtemp(prefix="readbot-bench-"))
    times, ask_kb, ingest_kb = cold_ask(data_dir)
    service = fresh_service(data_dir)
    from bot.knowledge.lc_embeddings import MiniLMEmbeddings

    rankers = {
        "readbot": readbot_ranker(service.retriever),
        "readbot dense only": readbot_ranker(Retriever(service.index, bm25_weight=0.0)),
        "textbook 1000/200 top-4": textbook_ranker(MiniLMEmbeddings()),
        "BM25 alone": bm25_ranker(service.retriever),
    }
    print(f"question set: {args.questions} ({len(questions)} questions)\n")
    results = {name: score(questions, rank) for name, rank in rankers.items()}
    metrics = list(next(iter(results.values())))
    print(f"{'':26s}" + "".join(f"{m:>27s}" for m in metrics))
    for name, row in results.items():
        print(f"{name:26s}" + "".join(f"{row[m]:>27s}" for m in metrics))

    asked = [q["question"] for q in questions if q["type"] != "adversarial"]
    service.ask(asked[0])
    embed, answer = latency(service, asked, args.rounds)
    print(f"\nembed one query:          {percentiles(embed)}")
    print(
        f"warm answer (no LLM):     {percentiles(answer)}  "
        f"(p95 / embed p95 = {np.percentile(answer, 95) / np.percentile(embed, 95):.2f})"
    )

    print(
        f"cold `readbot ask`:       {', '.join(f'{t:.2f} s' for t in times)} (median {statistics.median(times):.2f} s)"
    )
    print(f"peak memory `readbot ask`:    {ask_kb / 1024:.0f} MB")
    print(f"peak memory `readbot ingest`: {ingest_kb / 1024:.0f} MB (first index of the reading)")
    print(f"peak memory (this bench): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    corpus = Path(tempfile.mkdtemp(prefix="readbot-corpus-"))
    size = generated_corpus(corpus, args.corpus_mb)
    t = time.perf_counter()
    report = service.ingest([corpus])
    took = time.perf_counter() - t
    print(
        f"ingest {size / 1e6:.1f} MB ({report.chunks} chunks): {took:.1f} s = "
        f"{size / 1e6 / took:.2f} MB/s, {report.chunks / took:.0f} chunks/s"
    )
    t = time.perf_counter()
    report = service.ingest([corpus])
    print(f"re-ingest, nothing changed: {time.perf_counter() - t:.2f} s ({report.summary()})")


if __name__ == "__main__":
    main()
