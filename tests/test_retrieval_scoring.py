"""Pieces of the retrieval score: a section counts its two best chunks."""

from __future__ import annotations

import numpy as np

from bot.knowledge.retrieval import SECOND_WEIGHT, _top_two


def test_a_section_counts_its_best_and_second_best_chunk() -> None:
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.5], dtype=np.float32)
    section_of = np.array([0, 0, 1, 1, 2])
    got = _top_two(scores, section_of, 3)
    assert np.allclose(got, [0.9 + SECOND_WEIGHT * 0.1, 0.8 + SECOND_WEIGHT * 0.7, 0.5 + SECOND_WEIGHT * 0.5])
    assert got[1] > got[0]  # two good sentences outweigh one slightly better one


def test_ties_and_chunks_outside_the_reading() -> None:
    scores = np.array([0.6, 0.6, -np.inf, -np.inf], dtype=np.float32)
    section_of = np.array([0, 0, 1, 1])
    got = _top_two(scores, section_of, 2)
    assert np.isclose(got[0], 0.6 * (1 + SECOND_WEIGHT))
    assert got[1] == -np.inf  # a section of another reading stays out of the ranking
