"""Structure-aware chunking of the shipped reading and of small hand-written documents."""

from __future__ import annotations

import re

import pytest

from bot.knowledge.chunking import chunk_file, chunk_text, document_name, split_sections
from bot.knowledge.sentences import MAX_CHUNK_WORDS

SECTIONS = [
    "Summary",
    "The disconnect between model capability and real-world performance",
    "Pre-training vs. human learning",
    "The role of emotions and value functions",
    "From scaling to research",
    "Generalization as the core challenge",
    "SSI\u2019s approach: straight-shotting superintelligence",
    "Continual learning and the future of AI deployment",
    "Alignment and long-term safety",
    "Research taste and top-down belief",
]
TITLE = "Ilya Sutskever \u2013 We're moving from the age of scaling to the age of research"
NOT_SECTIONS = [TITLE, "Dwarkesh Podcast 1h36 4 min #107", "Watch on YouTube", "Back to Dwarkesh Podcast"]


@pytest.fixture(scope="module")
def shipped_chunks(reading_text: str, reading_path):
    return chunk_text(reading_text, document_name(reading_path))


def _in_order_unique(items):
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# --------------------------------------------------------------------------- shipped reading


def test_shipped_reading_has_the_ten_sections_in_order(reading_text, shipped_chunks):
    title, sections = split_sections(reading_text)
    assert [s.heading for s in sections] == SECTIONS
    assert _in_order_unique(c.section for c in shipped_chunks) == SECTIONS
    assert title == TITLE


def test_section_heading_keeps_the_curly_apostrophe(shipped_chunks):
    sections = {c.section for c in shipped_chunks}
    assert "SSI\u2019s approach: straight-shotting superintelligence" in sections
    assert "SSI's approach: straight-shotting superintelligence" not in sections


def test_title_lines_and_navigation_make_no_section_and_no_chunk(shipped_chunks):
    for line in NOT_SECTIONS:
        assert all(c.section != line for c in shipped_chunks), line
        assert all(line not in c.text for c in shipped_chunks), line


def test_one_chunk_per_bullet_and_every_chunk_text_is_verbatim(reading_text, shipped_chunks):
    bullets = [ln for ln in reading_text.splitlines() if ln.strip().startswith("\u2022")]
    assert len(shipped_chunks) == len(bullets)
    for chunk in shipped_chunks:
        assert chunk.text and chunk.text in reading_text, chunk
        assert not chunk.text.startswith(("\u2022", " ")), chunk
        assert chunk.parent == "" or chunk.parent in reading_text
        assert chunk.document == "dwarkesh-107-ilya-sutskever"
        assert chunk.title == TITLE


def test_positions_run_from_zero_without_gaps(shipped_chunks):
    assert [c.position for c in shipped_chunks] == list(range(len(shipped_chunks)))


def test_search_text_is_prefixed_with_the_heading(shipped_chunks):
    for chunk in shipped_chunks:
        assert chunk.search_text == f"{chunk.section}: {chunk.text}"


def _chunk_starting(chunks, prefix):
    matches = [c for c in chunks if c.text.startswith(prefix)]
    assert len(matches) == 1, (prefix, matches)
    return matches[0]


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        ("RL (reinforcement learning) training may make models", "Two possible explanations:"),
        ("RL environments may be inadvertently designed", "Two possible explanations:"),
        ("Two possible explanations:", "Current AI models perform impressively on benchmarks"),
        ("Sample efficiency: models require vastly more data", "Two aspects:"),
        ("The AI itself may be sentient.", "Ilya suggests building AI that cares about sentient life"),
        (
            "Even in a \u201cstraight-shot\u201d plan, release would be gradual.",
            "Ilya now believes gradual deployment is essential",
        ),
    ],
)
def test_nested_bullets_carry_their_parent(shipped_chunks, child, parent):
    chunk = _chunk_starting(shipped_chunks, child)
    assert chunk.parent.startswith(parent)
    # the parent is itself a chunk of the same section
    parent_chunk = _chunk_starting(shipped_chunks, parent)
    assert parent_chunk.section == chunk.section
    assert parent_chunk.position < chunk.position


def test_top_level_bullets_have_no_parent(shipped_chunks):
    for prefix in (
        "Ilya Sutskever, co-founder of OpenAI",
        "Current AI models perform impressively",
        "As AI becomes more powerful, alignment will become urgent",
    ):
        assert _chunk_starting(shipped_chunks, prefix).parent == ""


# --------------------------------------------------------------------------- markdown, prose, CRLF

MARKDOWN = """# Reading notes

## First part

- alpha point about owls
  - nested detail under alpha
- beta point about herons

## Second part

Owls hunt at night. Herons wade in shallow water.
"""


def test_markdown_headings_and_dash_bullets():
    _, sections = split_sections(MARKDOWN)
    assert [s.heading for s in sections] == ["First part", "Second part"]
    chunks = chunk_text(MARKDOWN, "notes")
    assert [(c.section, c.text, c.parent) for c in chunks] == [
        ("First part", "alpha point about owls", ""),
        ("First part", "nested detail under alpha", "alpha point about owls"),
        ("First part", "beta point about herons", ""),
        ("Second part", "Owls hunt at night.", ""),
        ("Second part", "Herons wade in shallow water.", ""),
    ]
    assert [c.position for c in chunks] == [0, 1, 2, 3, 4]
    assert all(c.document == "notes" for c in chunks)


def test_other_bullet_marks_and_numbered_lists():
    text = "Steps\n\n1. first step\n2) second step\n* star bullet\n\u25e6 hollow bullet\n"
    chunks = chunk_text(text, "d")
    assert [c.text for c in chunks] == ["first step", "second step", "star bullet", "hollow bullet"]
    assert {c.section for c in chunks} == {"Steps"}


def test_wrapped_bullet_lines_join_their_bullet():
    text = "Topic\n\n- a bullet that is long enough to wrap\n  onto a second line.\n- next bullet\n"
    chunks = chunk_text(text, "d")
    assert [c.text for c in chunks] == ["a bullet that is long enough to wrap onto a second line.", "next bullet"]
    assert [c.position for c in chunks] == [0, 1]


def _long_paragraph() -> str:
    sentences = [f"Sentence number {i} says something about scaling, research and taste." for i in range(40)]
    return " ".join(sentences)


def test_prose_paragraphs_split_into_one_chunk_per_sentence():
    paragraph = _long_paragraph()
    text = f"Prose section\n\n{paragraph}\n"
    chunks = chunk_text(text, "d")
    assert len(chunks) == 40
    for i, chunk in enumerate(chunks):
        assert chunk.text == f"Sentence number {i} says something about scaling, research and taste."
        assert chunk.section == "Prose section"
    assert " ".join(c.text for c in chunks) == paragraph  # nothing lost, nothing added
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_abbreviations_do_not_end_a_sentence():
    text = "Notes\n\nDr. Smith met Mr. Jones at 3 p.m. on the quay. They talked, e.g. about herons.\n"
    assert [c.text for c in chunk_text(text, "d")] == [
        "Dr. Smith met Mr. Jones at 3 p.m. on the quay.",
        "They talked, e.g. about herons.",
    ]


def test_a_sentence_longer_than_the_model_reads_is_cut_without_losing_words():
    sentence = "This one sentence " + "goes on and on, " * 60 + "until it ends."
    chunks = chunk_text(f"Heading\n\n{sentence} A short one follows.\n", "d")
    assert len(chunks) >= 3
    assert chunks[-1].text == "A short one follows."
    assert all(len(c.text.split()) <= MAX_CHUNK_WORDS for c in chunks)
    assert " ".join(c.text for c in chunks[:-1]).split() == sentence.split()


def test_a_bullet_longer_than_the_model_reads_is_cut_and_keeps_its_parent():
    long_item = "word " * (2 * MAX_CHUNK_WORDS + 10)
    text = f"Heading\n\n- lead in:\n  - {long_item.strip()}\n- after\n"
    chunks = chunk_text(text, "d")
    middle = [c for c in chunks if c.text.startswith("word")]
    assert len(middle) == 3 and all(c.parent == "lead in:" for c in middle)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].text == "after" and chunks[-1].parent == ""


def test_a_file_streams_to_the_same_chunks_as_its_text(tmp_path, reading_text):
    path = tmp_path / "r.txt"
    path.write_text(reading_text.replace("\n", "\r\n"), encoding="utf-8", newline="")
    assert list(chunk_file(path, "d")) == chunk_text(reading_text, "d")


def test_one_huge_paragraph_streams_in_bounded_pieces(tmp_path):
    sentence = "The heron waited by the water for a long time. "
    path = tmp_path / "big.txt"
    path.write_text("Heading\n\n" + "\n".join(sentence * 20 for _ in range(2000)) + "\n", encoding="utf-8")
    chunks = chunk_file(path, "d")
    first = next(chunks)  # produced long before the paragraph (about 1 MB) has been read
    assert first.text == sentence.strip()
    assert sum(1 for _ in chunks) == 40_000 - 1


def test_sentence_split_keeps_closing_quotes_verbatim():
    text = (
        "Quotes\n\nIlya called it \u201cthe age of research.\u201d The field changed. "
        'He said "Stop." Then he left (for good.) Nobody followed.\n'
    )
    chunks = chunk_text(text, "d")
    for chunk in chunks:
        assert chunk.text in text, chunk.text


def test_hard_wrapped_prose_is_not_mistaken_for_headings():
    text = (
        "# Notes\n\n## Why scaling stalled\n\n"
        "The age of scaling ran from 2020 to 2025 and was driven\n"
        "by scaling laws. Compute is now very large.\n\n"
        "## What comes next\n\nResearch, not scale, will decide progress.\n"
    )
    chunks = chunk_text(text, "notes")
    assert _in_order_unique(c.section for c in chunks) == ["Why scaling stalled", "What comes next"]
    assert "The age of scaling ran from 2020 to 2025" in chunks[0].text


def test_crlf_input_chunks_like_lf(reading_text):
    crlf = reading_text.replace("\n", "\r\n")
    assert "\r\n" in crlf
    lf_chunks = chunk_text(reading_text, "d")
    crlf_chunks = chunk_text(crlf, "d")
    assert crlf_chunks == lf_chunks
    assert not any("\r" in c.text or "\r" in c.section for c in crlf_chunks)
    md_crlf = chunk_text(MARKDOWN.replace("\n", "\r\n"), "notes")
    assert md_crlf == chunk_text(MARKDOWN, "notes")


def test_empty_and_heading_only_documents_give_no_chunks():
    assert chunk_text("", "d") == []
    assert chunk_text("\n\n  \n", "d") == []
    assert chunk_text("A title\n\nAnother heading\n", "d") == []


def test_no_chunk_text_keeps_a_bullet_mark(reading_text):
    mark = re.compile(r"^[\u2022\u25e6\-*+]\s")
    assert not any(mark.match(c.text) for c in chunk_text(reading_text, "d"))
