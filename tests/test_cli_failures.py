"""Every CLI failure is one line on stderr with the right exit status, never a traceback.

Each case runs the installed ``readbot`` console script as a subprocess (offline, network-guarded):
a data dir readbot can't write (``ask``, ``run``, ``chat``: exit 2, the line names READBOT_DATA_DIR),
a damaged ``chroma.sqlite3`` (``ask``: exit 1, "the index at … is damaged: run `readbot ingest
--rebuild`", and that command really repairs it, keeping the damaged copy aside), and a text file
with NUL and other control characters (indexed without them, so they never come back in answers).
Invalid UTF-8 and binary junk as a question, and an undecodable line in ``ask --json -``, are
tested in tests/test_ask.py (exit 2 with one line; ``{"error": …}`` in that line's place).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.knowledge.chunking import chunk_text, strip_control
from tests.readings_support import FAIRYTALES

QUESTION = "What does Ilya say about vibe coding?"


def one_line_on_stderr(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and lines[0].startswith("readbot: "), result.stderr
    return lines[0]


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` made unwritable for this process: mode 555, or for root (whom modes don't stop)
    the immutable attribute."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.fail(f"can't make {folder} read-only as root (chattr +i: {made.stderr.strip()})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize(
    "args",
    [["ask", QUESTION], ["run", "--platform", "slack"], ["chat"], ["ingest"], ["readings", "list"]],
    ids=lambda a: a[0],
)
def test_a_read_only_data_dir_stops_with_one_line(run_readbot: Any, tmp_path: Path, args: list[str]) -> None:
    data_dir = tmp_path / "data"
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:1/api/"}
    with read_only(data_dir):
        result = run_readbot(args, data_dir=data_dir, env=env, stdin="")
    line = one_line_on_stderr(result)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert str(data_dir) in line and "not writable" in line and "READBOT_DATA_DIR" in line
    assert result.stdout == ""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, run_readbot: Any) -> Path:
    """A data dir whose index holds the shipped reading (built by a first ``readbot ask``)."""
    data_dir = tmp_path_factory.mktemp("indexed")
    result = run_readbot(["ask", QUESTION], data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert (data_dir / "chroma" / "chroma.sqlite3").is_file()
    return data_dir


def damage(sqlite: Path, where: str) -> None:
    """Overwrite pages of the database: near its start (it won't open) or its second half (it opens,
    reading the collection fails)."""
    data = bytearray(sqlite.read_bytes())
    if where == "start":
        spans = range(4096, len(data), 8192)
        width = 512
    else:
        half = len(data) // 2
        spans = range(half - half % 4096, len(data), 4096)
        width = 4096
    for start in spans:
        data[start : start + width] = (b"\xde\xad" * (width // 2))[: len(data) - start]
    sqlite.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["start", "end"])
def test_a_damaged_index_is_one_line_naming_the_fix_which_works(
    run_readbot: Any, indexed: Path, tmp_path: Path, where: str
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(indexed, data_dir)
    damage(data_dir / "chroma" / "chroma.sqlite3", where)

    asked = run_readbot(["ask", QUESTION], data_dir=data_dir)
    line = one_line_on_stderr(asked)
    assert asked.returncode == 1 and asked.stdout == ""
    assert line.startswith(f"readbot: the index at {data_dir / 'chroma'} is damaged (")
    assert line.endswith("): run `readbot ingest --rebuild`")

    rebuilt = run_readbot(["ingest", "--rebuild"], data_dir=data_dir)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Traceback" not in rebuilt.stderr and "1 added" in rebuilt.stdout
    (aside,) = [p for p in data_dir.iterdir() if p.name.startswith("chroma.damaged-")]
    assert (aside / "chroma.sqlite3").is_file()  # kept, not deleted

    again = run_readbot(["ask", "--json", QUESTION], data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["grounded"] is True


def test_a_rebuild_indexes_the_added_readings_again(run_readbot: Any, indexed: Path, tmp_path: Path) -> None:
    """A reading added with `readbot readings add` is kept in the data dir: a rebuild of a damaged
    index indexes it again, so its questions are answered as before."""
    data_dir = tmp_path / "data"
    shutil.copytree(indexed, data_dir)
    story = FAIRYTALES / "kari-woodencoat.md"
    added = run_readbot(["readings", "add", str(story), "--id", "kari"], data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    question = "What did Kari make her coat of?"
    before = json.loads(run_readbot(["ask", "--json", "--reading", "kari", question], data_dir=data_dir).stdout)
    damage(data_dir / "chroma" / "chroma.sqlite3", "start")
    rebuilt = run_readbot(["ingest", "--rebuild"], data_dir=data_dir)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "2 added" in rebuilt.stdout, rebuilt.stdout  # the shipped reading and kari
    after = json.loads(run_readbot(["ask", "--json", "--reading", "kari", question], data_dir=data_dir).stdout)
    assert after["grounded"] == before["grounded"] and after["sources"] == before["sources"]


def test_a_rebuild_of_a_sound_index_moves_nothing_aside(run_readbot: Any, indexed: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(indexed, data_dir)
    rebuilt = run_readbot(["ingest", "--rebuild"], data_dir=data_dir)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith("chroma")) == ["chroma"]


def test_control_characters_are_stripped_at_ingest_and_never_answered(run_readbot: Any, tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    text = (
        "# The Lighthouse Keeper\n\n"
        "## The storm\n\n"
        "The keeper li\x00t the lamp every night at dusk,\x07 and the fishing boats\x1b[31m found the harbour "
        "by its beam.\x0cWhen the storm broke the glass, she carried a lantern up the tower herself.\x00\n\n"
        "## The letter\n\n"
        "A letter from the mainland\x08 asked her to leave the island, but she stayed with the light.\n"
    )
    (knowledge / "lighthouse.txt").write_bytes(text.encode("utf-8"))
    env = {"READBOT_KNOWLEDGE_DIR": str(knowledge)}
    ingested = run_readbot(["ingest", str(knowledge)], data_dir=tmp_path / "data", env=env)
    assert ingested.returncode == 0, ingested.stderr
    asked = run_readbot(
        ["ask", "--json", "What did the keeper do when the storm broke the glass?"], data_dir=tmp_path / "data", env=env
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    shown = answer["answer"] + json.dumps(answer["sources"])
    assert "lantern" in answer["answer"]
    assert "keeper lit" in shown or "keeper" not in shown  # the NUL inside "lit" is gone, the word whole
    assert not any(ch in shown for ch in "\x00\x07\x08\x0c\x1b"), repr(shown)
    assert "\\u0000" not in asked.stdout and "\\u001b" not in asked.stdout


def test_strip_control_keeps_words_apart_and_tabs() -> None:
    assert strip_control("a\x00b\tc\x0cd\x1fe\x85f\ufeffg\x7fh\x9bi") == "ab\tc d e fghi"
    chunks = chunk_text("Title\n\nOne\x00 two\x0bthree four five six seven eight nine ten.\n", "doc")
    assert [c.text for c in chunks] == ["One two three four five six seven eight nine ten."]
