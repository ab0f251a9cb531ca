"""The index as several Chroma collections of bounded size (shards), on a real embedded Chroma.

A small cap (``shard_size=50``) stands for the real one (``SHARD_SIZE``): a file of 150
sentence chunks fills ``readbot``, ``readbot-2`` and ``readbot-3``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.knowledge.embedder import make_embedder
from bot.knowledge.index import (
    COLLECTION,
    EMBEDDING_KEY,
    Bound,
    IndexMismatchError,
    KnowledgeIndex,
    chroma_client,
    shard_names,
)
from bot.knowledge.ingest import Ingester
from bot.knowledge.service import KnowledgeService

CAP = 50


class Interrupt(Exception):
    pass


def _story(animal: str, parts: int) -> str:
    """``parts`` sections of three sentences each: 3 × ``parts`` chunks."""
    lines = [f"# The {animal} story", ""]
    for p in range(1, parts + 1):
        lines += [
            f"## Part {p}",
            "",
            f"The {animal} number {p} waited by the river. The {animal} caught fish number {p} at dawn. "
            f"Then {animal} {p} flew home over the hill.",
            "",
        ]
    return "\n".join(lines)


@pytest.fixture
def embedder(encoder: Any) -> Any:
    return make_embedder("bundled")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _index(folder: Path, embedder: Any, *, writer: bool = False, shard_size: int = CAP) -> KnowledgeIndex:
    reopen = (lambda: chroma_client(folder)) if writer else None
    return KnowledgeIndex(chroma_client(folder), embedder, shard_size=shard_size, reopen=reopen)


def _write(path: Path, animal: str, parts: int) -> Path:
    path.write_text(_story(animal, parts), encoding="utf-8")
    return path


def _positions(index: KnowledgeIndex, path: Path) -> list[int]:
    source = str(path.resolve())
    document = index.files()[source].document
    return sorted(c.chunk.position for c in index.all_chunks() if c.chunk.document == document)


def _stored(index: KnowledgeIndex) -> list[tuple[str, dict[str, Any], np.ndarray]]:
    """Every vector of every shard, with its metadata."""
    out = []
    for name in index.shards:
        got = index._client.get_collection(name).get(include=["embeddings", "metadatas"])
        out += [
            (cid, dict(meta), np.asarray(vec, dtype=np.float32))
            for cid, meta, vec in zip(got["ids"], got["metadatas"], got["embeddings"], strict=True)
        ]
    return out


def _true_scores(
    stored: list[tuple[str, dict[str, Any], np.ndarray]], vector: Any, reading: str | None, bound: Bound | None
) -> dict[str, float]:
    """The exact (brute force) cosine score of every vector that ``reading`` and ``bound`` let through."""
    q = np.asarray(vector, dtype=np.float32)
    q = q / np.linalg.norm(q)
    scored = []
    for cid, meta, vec in stored:
        if reading and meta["reading"] != reading:
            continue
        if bound and meta["reading"] == bound.reading and int(meta["section_order"]) > bound.section_order:
            continue
        scored.append((float(vec @ q / np.linalg.norm(vec)), cid))
    return {cid: score for score, cid in scored}


def _shard_counts(index: KnowledgeIndex) -> list[int]:
    return [int(index._client.get_collection(name).count()) for name in index.shards]


def test_a_small_index_is_the_one_collection_readbot(tmp_settings: Any) -> None:
    service = KnowledgeService.open(tmp_settings)
    try:
        report = service.ensure_ingested()
        assert report is not None and report.added
        assert service.index.shards == [COLLECTION]
        client = service.index._client
        assert [getattr(c, "name", c) for c in client.list_collections()] == [COLLECTION]
        assert service.index.count() == int(client.get_collection(COLLECTION).count()) == report.chunks > 0
    finally:
        service.close()


def test_a_large_file_fills_shards_of_the_cap_and_reads_merge_them(folder: Path, tmp_path: Path, embedder: Any) -> None:
    index = _index(folder, embedder)
    heron = _write(tmp_path / "heron.md", "heron", 50)  # 150 chunks
    report = Ingester(index, batch=16).run([heron], reading="birds")
    assert report.chunks == 150
    assert index.shards == ["readbot", "readbot-2", "readbot-3"]
    assert _shard_counts(index) == [50, 50, 50]
    assert index.count() == 150
    record = index.files()[str(heron.resolve())]
    assert record.complete and record.chunks == 150  # chunk 0 is in the first shard, finished there
    assert _positions(index, heron) == list(range(150))
    assert index.readings() == ["birds"]
    ids = [c.id for c in index.all_chunks()]
    assert len(set(ids)) == 150
    some = [ids[3], ids[70], ids[140], "no-such-id"]
    assert sorted(index.chunks(some)) == sorted(some[:3])


def test_a_sharded_query_answers_as_one_collection_would(folder: Path, tmp_path: Path, embedder: Any) -> None:
    sharded = _index(folder, embedder)
    whole = _index(tmp_path / "whole", embedder, shard_size=10_000)
    heron = _write(tmp_path / "heron.md", "heron", 40)
    otter = _write(tmp_path / "otter.md", "otter", 20)
    for index in (sharded, whole):
        Ingester(index, batch=16).run([heron], reading="heron")
        Ingester(index, batch=16).run([otter], reading="otter")
    assert len(sharded.shards) == 4 and whole.shards == ["readbot"]
    stored = _stored(sharded)
    for question in ("What did heron 37 catch at dawn?", "Where did otter 2 wait?", "fish"):
        vector = embedder.embed_query(question)
        for reading, bound in ((None, None), ("heron", None), ("otter", None), (None, Bound("heron", 10))):
            true = _true_scores(stored, vector, reading, bound)
            exact = sorted(true, key=lambda cid: -true[cid])[:8]
            for index in (sharded, whole):
                got = index.query(vector, 8, reading, bound=bound)
                scores = [h.score for h in got]
                assert len(got) == 8 and scores == sorted(scores, reverse=True)
                assert all(h.id in true for h in got)  # nothing the filter keeps out
                assert scores == pytest.approx([true[h.id] for h in got], abs=1e-5)
                # Chroma's filtered HNSW search is approximate and its graph depends on insert timing:
                # one neighbour of 8 may differ. A lost shard or a bad merge misses far more.
                assert len({h.id for h in got} & set(exact)) >= 7
    vector = embedder.embed_query("What did heron 37 catch at dawn?")
    best = sharded.chunks([sharded.query(vector, 1)[0].id])
    assert [c.chunk.section for c in best.values()] == ["Part 37"]  # stored in the third shard
    # Chroma's HNSW search with a ``where`` filter is approximate: asked for more than a filter lets
    # through, it can miss a vector (seen once in CI under load: 59 of 60), so "all" means ≥ 95% here
    otters = sharded.query(vector, 100, "otter")
    assert 57 <= len(otters) <= 60
    assert {c.reading for c in sharded.chunks([h.id for h in otters]).values()} == {"otter"}
    bounded = sharded.query(vector, 200, bound=Bound("heron", 3))
    metas = sharded.chunks([h.id for h in bounded]).values()
    visible = [c for c in sharded.all_chunks() if c.reading != "heron" or c.chunk.section_order <= 3]
    assert len(visible) < 180
    assert 0.95 * len(visible) <= len(bounded) <= len(visible)  # what the bound lets through, from every shard
    assert all(c.chunk.section_order <= 3 for c in metas if c.reading == "heron")
    assert sharded.query(vector, 0) == []


def test_deletes_and_counts_go_over_every_shard(folder: Path, tmp_path: Path, embedder: Any) -> None:
    index = _index(folder, embedder, writer=True)
    heron = _write(tmp_path / "heron.md", "heron", 30)  # 90 chunks: readbot (50), readbot-2 (40)
    otter = _write(tmp_path / "otter.md", "otter", 10)  # 30 more: readbot-2 (10), readbot-3 (20)
    Ingester(index, batch=16).run([heron, otter])
    assert _shard_counts(index) == [50, 50, 20]
    assert index.readings() == ["heron", "otter"]
    index.delete_file(str(heron.resolve()))
    assert index.count() == 30 and index.readings() == ["otter"]
    assert index.shards == ["readbot", "readbot-2", "readbot-3"]  # readbot-2 still holds otter's 10
    assert _shard_counts(index) == [0, 10, 20]
    index.delete_file(str(otter.resolve()))
    assert index.count() == 0 and index.files() == {}
    assert index.shards == ["readbot"]  # the emptied shards are dropped, never the first
    assert shard_names(index._client) == ["readbot"]
    Ingester(index, batch=16).run([otter])  # writes go to the newest shard left
    assert index.shards == ["readbot"] and _shard_counts(index) == [30]


def test_a_reader_keeps_the_shards_a_delete_empties(folder: Path, tmp_path: Path, embedder: Any) -> None:
    """A process that answers questions may be searching a shard while a reading is removed: the
    emptied shard stays (empty) until a writer drops it."""
    index = _index(folder, embedder)
    heron = _write(tmp_path / "heron.md", "heron", 30)
    Ingester(index, batch=16).run([heron])
    index.delete_file(str(heron.resolve()))
    assert index.count() == 0 and index.files() == {}
    assert index.shards == ["readbot", "readbot-2"] and _shard_counts(index) == [0, 0]
    vector = embedder.embed_query("heron")
    assert index.query(vector, 5) == []
    writer = _index(folder, embedder, writer=True)
    writer.delete_file(str(heron.resolve()))
    assert writer.shards == ["readbot"] and shard_names(writer._client) == ["readbot"]


def test_an_ingest_interrupted_past_a_shard_boundary_resumes_there(folder: Path, tmp_path: Path, embedder: Any) -> None:
    index = _index(folder, embedder, writer=True)
    heron = _write(tmp_path / "heron.md", "heron", 40)  # 120 chunks
    batches: list[int] = []

    def stop_after_five(_bytes: int) -> None:
        batches.append(_bytes)
        if len(batches) == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        Ingester(index, stop_after_five, batch=16).run([heron])
    source = str(heron.resolve())
    assert index.stored_positions(source) == 80  # five batches of 16: the first shard and 30 of the second
    assert _shard_counts(index) == [50, 30]
    assert index.files()[source].complete is False

    reopened = _index(folder, embedder, writer=True)  # as a new `readbot ingest` would
    report = Ingester(reopened, batch=16).run([heron])
    assert report.added == [str(heron)] and report.chunks == 40
    assert _shard_counts(reopened) == [50, 50, 20]
    record = reopened.files()[source]
    assert record.complete and record.chunks == 120
    assert _positions(reopened, heron) == list(range(120))
    assert Ingester(reopened, batch=16).run([heron]).unchanged == [str(heron)]


def test_an_index_of_several_shards_reopens_whole(folder: Path, tmp_path: Path, embedder: Any) -> None:
    index = _index(folder, embedder)
    heron = _write(tmp_path / "heron.md", "heron", 40)
    Ingester(index, batch=16).run([heron])
    vector = embedder.embed_query("What did heron 33 catch at dawn?")
    before = index.query(vector, 5)
    index.close()
    again = _index(folder, embedder, shard_size=10_000)  # another cap: the shards on disk are what counts
    assert again.shards == ["readbot", "readbot-2", "readbot-3"]
    assert again.count() == 120
    assert [h.id for h in again.query(vector, 5)] == [h.id for h in before]
    assert again.files()[str(heron.resolve())].chunks == 120
    # a shard built with another model is refused like a whole index would be
    third = again._client.get_collection("readbot-3")
    third.modify(metadata={**third.metadata, EMBEDDING_KEY: "bundled:another-model"})
    with pytest.raises(IndexMismatchError):
        _index(folder, embedder)


def test_a_writer_lets_go_of_full_shards_and_keeps_every_chunk(folder: Path, tmp_path: Path, embedder: Any) -> None:
    index = _index(folder, embedder, writer=True)
    first_client = index._client
    heron = _write(tmp_path / "heron.md", "heron", 40)
    Ingester(index, batch=16).run([heron])
    assert index.releases >= 2  # at least when readbot and readbot-2 filled
    assert index._client is not first_client
    assert first_client._closed  # the full shards' memory went with the system of that client
    assert index.count() == 120 and _positions(index, heron) == list(range(120))
    vector = embedder.embed_query("What did heron 3 catch at dawn?")
    assert index.chunks([index.query(vector, 1)[0].id]).popitem()[1].chunk.section == "Part 3"
    # a reader (no reopen) never swaps its client, whatever it reads
    reader = _index(folder, embedder)
    client = reader._client
    assert reader.count() == 120 and reader.readings() == ["heron"]
    assert reader._client is client and reader.releases == 0


def test_reset_leaves_one_empty_collection(folder: Path, tmp_path: Path, embedder: Any) -> None:
    index = _index(folder, embedder, writer=True)
    Ingester(index, batch=16).run([_write(tmp_path / "heron.md", "heron", 30)])
    assert len(index.shards) == 2
    index.reset()
    assert index.shards == ["readbot"] and shard_names(index._client) == ["readbot"] and index.count() == 0
    Ingester(index, batch=16).run([_write(tmp_path / "otter.md", "otter", 20)])
    assert index.shards == ["readbot", "readbot-2"] and index.count() == 60


def test_readbot_ingest_writes_as_a_writer(
    tmp_path: Path, tmp_settings: Any, monkeypatch: pytest.MonkeyPatch, encoder: Any
) -> None:
    """`readbot ingest` lets go of each full shard (the embedded index); a service that answers
    questions does not."""
    import bot.knowledge.index as index_module
    from bot.cli import main

    releases: list[list[str]] = []
    release = KnowledgeIndex._release

    def counted(self: KnowledgeIndex) -> None:
        shards, before = self.shards, self.releases
        release(self)
        if self.releases > before:  # the client was closed and a fresh one opened
            releases.append(shards)

    monkeypatch.setattr(KnowledgeIndex, "_release", counted)
    monkeypatch.setattr(index_module, "SHARD_SIZE", CAP)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("READBOT_DATA_DIR", str(tmp_settings.data_dir))
    heron = _write(tmp_path / "heron.md", "heron", 40)
    assert main(["ingest", str(heron)]) == 0
    assert ["readbot"] in releases and ["readbot", "readbot-2"] in releases  # each as it filled
    reader = KnowledgeService.open(tmp_settings)
    try:
        assert reader.index.shards == ["readbot", "readbot-2", "readbot-3"] and reader.index.count() == 120
        assert reader.index._reopen is None
        assert reader.ask("What did heron 23 catch at dawn?").sources[0].section == "Part 23"
    finally:
        reader.close()


def test_doctor_checks_every_shard(tmp_path: Path, tmp_settings: Any, embedder: Any) -> None:
    from bot.ops.doctor import ChromaCheck

    index = _index(tmp_settings.data_dir, embedder, writer=True)
    heron = _write(tmp_path / "heron.md", "heron", 30)
    Ingester(index, batch=16).run([heron, _write(tmp_path / "otter.md", "otter", 10)])
    index.delete_file(str(heron.resolve()))
    assert _shard_counts(index) == [0, 10, 20]
    check = ChromaCheck()
    assert check.reachable(tmp_settings) is None
    assert check.index(tmp_settings) is None  # the first shard is empty, the index is not
    third = index._client.get_collection("readbot-3")
    third.modify(metadata={**third.metadata, EMBEDDING_KEY: "bundled:another-model"})
    assert "readbot ingest --rebuild" in str(check.index(tmp_settings))
    index.delete_file(str((tmp_path / "otter.md").resolve()))
    assert index.shards == ["readbot"]
    assert check.index(tmp_settings) == "the index is empty: run readbot ingest"
