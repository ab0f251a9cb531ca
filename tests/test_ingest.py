"""Ingest into a real embedded Chroma: incremental, per-file safe, model-checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.index import IndexMismatchError
from bot.knowledge.service import KnowledgeService

ALPHA_V1 = """Alpha field notes

Zebra crossings
\u2022 Zebra crossings are painted with bold white stripes for pedestrians.
\u2022 Drivers must stop when someone waits at a zebra crossing.
\u2022 The stripes are repainted every spring.
"""
ALPHA_V2 = """Alpha field notes

Lighthouses
\u2022 Lighthouse keepers once trimmed the lamp wicks every night.
"""
NOTES_MD = """# Garden notes

## Compost

- Compost needs green and brown material in balance.
- Turning the heap adds air.
"""
CH1_MD = """# Chapter one

## Harbour

- The harbour freezes over in January.
"""
CH2_TXT = """Chapter two

Market day
\u2022 On market day the square fills with cheese sellers.
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "bookclub").mkdir(parents=True)
    (root / "alpha.txt").write_text(ALPHA_V1, encoding="utf-8")
    (root / "notes.md").write_text(NOTES_MD, encoding="utf-8")
    (root / "bookclub" / "ch1.md").write_text(CH1_MD, encoding="utf-8")
    (root / "bookclub" / "ch2.txt").write_text(CH2_TXT, encoding="utf-8")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.txt").write_text("Hidden\n\u2022 never indexed\n", encoding="utf-8")
    (root / "image.png").write_bytes(b"\x89PNG not text")
    return root


@pytest.fixture
def service(tmp_settings):
    svc = KnowledgeService.open(tmp_settings)
    yield svc
    svc.close()


def _texts(service: KnowledgeService) -> list[str]:
    return [ic.chunk.text for ic in service.index.all_chunks()]


def _by_source(service: KnowledgeService, path: Path) -> list[int]:
    source = str(path.resolve())
    records = service.index.files()
    assert source in records
    doc = records[source].document
    reading = records[source].reading
    return sorted(
        ic.chunk.position for ic in service.index.all_chunks() if ic.chunk.document == doc and ic.reading == reading
    )


def test_first_ingest_adds_every_file(service, docs):
    report = service.ingest([docs])
    expected = {
        str(docs / "alpha.txt"),
        str(docs / "notes.md"),
        str(docs / "bookclub" / "ch1.md"),
        str(docs / "bookclub" / "ch2.txt"),
    }
    assert set(report.added) == expected
    assert not report.updated and not report.unchanged and not report.removed and not report.failed
    assert report.chunks == 3 + 2 + 1 + 1 == service.index.count()
    assert set(service.index.files()) == {str(Path(p).resolve()) for p in expected}
    assert "never indexed" not in _texts(service)  # dot-folders are skipped
    assert report.summary() == "4 added, 0 updated, 0 unchanged; 7 chunks embedded"
    # and it is searchable right away
    top = service.retrieve("When must drivers stop for pedestrians?").hits[0]
    assert top.document == "alpha" and top.section == "Zebra crossings"


def test_second_ingest_of_the_same_files_embeds_nothing(service, docs):
    service.ingest([docs])
    ids_before = [ic.id for ic in service.index.all_chunks()]
    report = service.ingest([docs])
    assert len(report.unchanged) == 4
    assert not report.added and not report.updated and not report.removed and not report.failed
    assert report.chunks == 0
    assert not report.changed
    assert [ic.id for ic in service.index.all_chunks()] == ids_before


def test_modified_file_is_updated_and_its_old_chunks_are_gone(service, docs):
    service.ingest([docs])
    alpha = docs / "alpha.txt"
    assert _by_source(service, alpha) == [0, 1, 2]
    alpha.write_text(ALPHA_V2, encoding="utf-8")

    report = service.ingest([docs])
    assert report.updated == [str(alpha)]
    assert len(report.unchanged) == 3 and not report.added
    assert report.chunks == 1
    # the file now has one chunk: no stale positions 1 and 2 are left behind
    assert _by_source(service, alpha) == [0]
    texts = _texts(service)
    assert not any("Zebra" in t or "zebra" in t for t in texts)
    assert "Lighthouse keepers once trimmed the lamp wicks every night." in texts
    assert service.index.count() == 1 + 2 + 1 + 1
    # query the index: the old passage is not found any more, the new one is
    vector = service.index.embedder.embed_query("Zebra crossings are painted with bold white stripes")
    hits = service.index.query(vector, 10)
    by_id = {ic.id: ic.chunk.text for ic in service.index.all_chunks()}
    assert hits and all(by_id[h.id] for h in hits)
    assert not any("Zebra" in by_id[h.id] for h in hits)
    answer = service.ask("Who trimmed the lamp wicks?")
    assert answer.grounded and answer.sources[0].section == "Lighthouses"


def test_deleted_file_is_kept_without_prune_and_removed_with_it(service, docs):
    service.ingest([docs])
    notes = docs / "notes.md"
    source = str(notes.resolve())
    notes.unlink()

    kept = service.ingest([docs])
    assert not kept.removed
    assert source in service.index.files()

    report = service.ingest([docs], prune=True)
    assert report.removed == [source]
    assert len(report.unchanged) == 3
    assert source not in service.index.files()
    assert not any("Compost" in t for t in _texts(service))
    assert service.index.count() == 3 + 1 + 1


def test_prune_leaves_other_roots_alone(service, docs, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "extra.txt").write_text("Extra\n\u2022 An extra file about kites.\n", encoding="utf-8")
    service.ingest([docs])
    service.ingest([other])
    report = service.ingest([docs], prune=True)
    assert not report.removed
    assert str((other / "extra.txt").resolve()) in service.index.files()


def _make_unreadable(path: Path) -> Path:
    """A file the ingester can list but not read, whoever runs the tests."""
    path.write_text("Secret\n\u2022 cannot be read\n", encoding="utf-8")
    path.chmod(0)
    try:
        path.read_bytes()
    except OSError:
        return path
    # running as root: permissions don't stop reads; a file that fails with EIO does
    path.chmod(0o644)
    path.unlink()
    if not Path("/proc/self/mem").exists():
        pytest.skip("cannot make an unreadable file here (root, and no /proc/self/mem)")
    path.symlink_to("/proc/self/mem")
    with pytest.raises(OSError):
        path.read_bytes()
    return path


def test_bad_files_are_reported_by_name_and_the_rest_still_lands(service, docs, tmp_path):
    bad = docs / "broken.txt"
    bad.write_bytes(b"Broken\n\xe2\x80\xa2 caf\xe9 latin-1 \xff\xfe bytes\n")
    unreadable = _make_unreadable(docs / "locked.txt")
    missing = tmp_path / "no-such-folder"
    try:
        report = service.ingest([docs, missing])
    finally:
        if not unreadable.is_symlink():
            unreadable.chmod(0o644)
    failed = dict(report.failed)
    assert set(failed) == {str(bad), str(unreadable), str(missing)}
    assert failed[str(bad)] == "not UTF-8 text"
    assert failed[str(unreadable)]  # the OS reason, e.g. "Permission denied"
    assert "no such file" in failed[str(missing)]
    assert len(report.added) == 4
    assert service.index.count() == 7
    assert "4 added" in report.summary() and "3 failed" in report.summary()


def test_emptied_file_does_not_keep_stale_chunks(service, docs):
    service.ingest([docs])
    (docs / "alpha.txt").write_text("", encoding="utf-8")
    service.ingest([docs], prune=True)
    assert not any("Zebra" in t for t in _texts(service))


def test_reading_name_defaults_to_subfolder_or_file_stem(service, docs):
    service.ingest([docs])
    readings = {Path(src).name: rec.reading for src, rec in service.index.files().items()}
    assert readings == {"alpha.txt": "alpha", "notes.md": "notes", "ch1.md": "bookclub", "ch2.txt": "bookclub"}
    assert service.index.readings() == ["alpha", "bookclub", "notes"]
    # a single file given directly is named after itself
    lone = docs.parent / "lone-file.md"
    lone.write_text("# Lone\n\n## Part\n\n- A lone bullet about otters.\n", encoding="utf-8")
    service.ingest([lone])
    assert service.index.files()[str(lone.resolve())].reading == "lone-file"
    # and retrieval can be limited to one reading
    hits = service.retrieve("What happens to the harbour in winter?", reading="bookclub").hits
    assert hits and {h.reading for h in hits} == {"bookclub"}


def test_reading_override_applies_to_every_file_and_reindexes(service, docs):
    service.ingest([docs])
    report = service.ingest([docs], reading="Club Pick")
    assert len(report.updated) == 4  # same bytes, new reading: re-recorded
    assert {rec.reading for rec in service.index.files().values()} == {"Club Pick"}
    assert {ic.reading for ic in service.index.all_chunks()} == {"Club Pick"}
    assert service.index.count() == 7


def _fake_embedder():
    from langchain_core.embeddings.fake import DeterministicFakeEmbedding

    from bot.knowledge.embedder import LangchainEmbedder

    return LangchainEmbedder(DeterministicFakeEmbedding(size=384), "fake:model")


def test_opening_with_another_embedding_model_is_refused(tmp_settings, docs):
    first = KnowledgeService.open(tmp_settings)
    first.ingest([docs])
    first.close()
    with pytest.raises(IndexMismatchError) as info:
        KnowledgeService.open(tmp_settings, embedder=_fake_embedder())
    message = str(info.value)
    assert "re-ingest" in message and "--rebuild" in message
    assert "bundled:all-MiniLM-L6-v2-int8" in message and "langchain:fake:model" in message
    # the index itself is untouched and still opens with the model that built it
    again = KnowledgeService.open(tmp_settings)
    assert again.index.count() == 7
    again.close()


def test_rebuild_replaces_every_chunk(service, docs):
    service.ingest([docs])
    (docs / "notes.md").unlink()
    report = service.ingest([docs], rebuild=True)
    assert len(report.added) == 3 and not report.unchanged and report.chunks == 5
    assert service.index.count() == 5


def test_rebuild_with_the_new_embedding_model_works(tmp_settings, docs):
    first = KnowledgeService.open(tmp_settings)
    first.ingest([docs])
    first.close()
    with pytest.raises(IndexMismatchError):
        KnowledgeService.open(tmp_settings, embedder=_fake_embedder())
    service = KnowledgeService.open(tmp_settings, embedder=_fake_embedder(), rebuild=True)
    assert service.index.count() == 0
    report = service.ingest([docs])
    assert len(report.added) == 4
    assert service.index.embedder.id == "langchain:fake:model"


def test_cli_ingest_skips_a_bad_file_and_indexes_the_rest(run_readbot, docs, tmp_path):
    bad = docs / "broken.txt"
    bad.write_bytes(b"Broken\n\xff\xfe not utf-8\n")
    data_dir = tmp_path / "cli-data"
    result = run_readbot(["ingest", str(docs)], data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert f"skipped {bad}: not UTF-8 text" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == "4 added, 0 updated, 0 unchanged, 1 failed; 7 chunks embedded"

    from bot.settings import Settings

    service = KnowledgeService.open(Settings.from_env({"READBOT_DATA_DIR": str(data_dir)}, dotenv=None))
    try:
        assert {Path(s).name for s in service.index.files()} == {"alpha.txt", "notes.md", "ch1.md", "ch2.txt"}
        assert service.index.count() == 7
    finally:
        service.close()


def test_cli_ingest_of_only_bad_files_exits_1(run_readbot, tmp_path):
    folder = tmp_path / "bad-only"
    folder.mkdir()
    (folder / "broken.md").write_bytes(b"\xff\xfe\xfd")
    result = run_readbot(["ingest", str(folder)], data_dir=tmp_path / "d")
    assert result.returncode == 1
    assert result.stderr.strip() == f"skipped {folder / 'broken.md'}: not UTF-8 text"


# --------------------------------------------------------------------------- streaming, resumable


class Interrupt(Exception):
    pass


def _story(paragraphs: int) -> str:
    lines = ["# A long story", ""]
    for p in range(paragraphs):
        lines += [
            f"## Part {p + 1}",
            "",
            f"The heron number {p} waited by the river. It caught fish number {p} at dawn. "
            f"Then heron {p} flew home over the hill.",
            "",
        ]
    return "\n".join(lines)


def test_an_interrupted_ingest_keeps_what_it_stored_and_resumes_where_it_stopped(service, tmp_path):
    from bot.knowledge.ingest import Ingester

    path = tmp_path / "story.md"
    path.write_text(_story(20), encoding="utf-8")  # 60 sentence chunks
    batches = []

    def stop_after_three(_bytes: int) -> None:
        batches.append(_bytes)
        if len(batches) == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        Ingester(service.index, stop_after_three, batch=8).run([path])
    source = str(path.resolve())
    record = service.index.files()[source]
    assert record.complete is False
    assert service.index.stored_positions(source) == 24  # three batches of 8 landed

    report = Ingester(service.index, batch=8).run([path])
    assert report.added == [str(path)] and report.chunks == 60 - 24  # only the rest was embedded
    record = service.index.files()[source]
    assert record.complete is True and record.chunks == 60
    assert _by_source(service, path) == list(range(60))
    again = Ingester(service.index, batch=8).run([path])
    assert again.unchanged == [str(path)] and again.chunks == 0
    service.retriever.invalidate()
    answer = service.ask("What did heron 17 catch at dawn?")
    assert answer.grounded and answer.sources[0].section == "Part 18"


def test_an_interrupted_file_changed_before_the_rerun_is_ingested_from_scratch(service, tmp_path):
    from bot.knowledge.ingest import Ingester

    path = tmp_path / "story.md"
    path.write_text(_story(10), encoding="utf-8")

    def stop(_bytes: int) -> None:
        raise Interrupt

    with pytest.raises(Interrupt):
        Ingester(service.index, stop, batch=4).run([path])
    path.write_text(_story(5), encoding="utf-8")
    report = Ingester(service.index, batch=4).run([path])
    assert report.chunks == 15
    assert _by_source(service, path) == list(range(15))


def test_a_file_that_turns_out_not_utf8_midway_leaves_nothing_behind(service, tmp_path):
    path = tmp_path / "broken.md"
    path.write_bytes(_story(200).encode("utf-8") + b"\n\xff\xfe broken tail\n")
    report = service.ingest([path])
    assert report.failed == [(str(path), "not UTF-8 text")]
    assert str(path.resolve()) not in service.index.files()
    assert service.index.count() == 0


def test_one_embedding_per_chunk(service, tmp_path):
    calls: list[int] = []
    embedder = service.index.embedder
    original = embedder.embed_documents

    def counting(texts):
        calls.append(len(texts))
        return original(texts)

    embedder.embed_documents = counting
    try:
        path = tmp_path / "story.md"
        path.write_text(_story(4), encoding="utf-8")
        report = service.ingest([path])
    finally:
        embedder.embed_documents = original
    assert sum(calls) == report.chunks == 12
