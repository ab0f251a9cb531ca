"""Per-thread question history: bounded, per thread, expiring after a quiet day."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from bot.store.history import ThreadHistory


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_threads_are_kept_apart_and_bounded(tmp_path: Path):
    history = ThreadHistory(tmp_path / "h.db", keep=2)
    for q in ("one", "two", "three"):
        history.add("a", q)
    history.add("b", "other")
    assert history.recent("a") == ["two", "three"]
    assert history.recent("b") == ["other"]
    assert history.recent("c") == []
    history.close()


def test_history_expires_a_day_after_the_last_message(tmp_path: Path):
    clock = Clock()
    history = ThreadHistory(tmp_path / "h.db", ttl_hours=24, clock=clock)
    history.add("t", "first")
    clock.now += 23 * 3600
    history.add("t", "second")  # a message keeps the thread alive ...
    clock.now += 23 * 3600
    assert history.recent("t") == ["first", "second"]
    clock.now += 2 * 3600  # ... until it has been quiet for more than 24 h
    assert history.recent("t") == []
    history.add("t", "next day")
    assert history.recent("t") == ["next day"]
    history.close()


def test_a_new_question_after_expiry_starts_the_thread_afresh(tmp_path: Path):
    clock = Clock()
    history = ThreadHistory(tmp_path / "h.db", ttl_hours=1, clock=clock)
    history.add("t", "old")
    clock.now += 2 * 3600
    history.add("t", "new")
    assert history.recent("t") == ["new"]
    history.close()


def test_expired_threads_are_swept_from_the_database(tmp_path: Path):
    clock = Clock()
    path = tmp_path / "h.db"
    history = ThreadHistory(path, ttl_hours=1, clock=clock)
    for i in range(5):
        history.add(f"quiet-{i}", "q")
    clock.now += 2 * 3600
    history.add("busy", "q")
    history.recent("busy")
    rows = history._db.execute("SELECT DISTINCT thread_key FROM thread_questions").fetchall()
    assert rows == [("busy",)]
    history.close()


def test_history_survives_a_reopen_within_the_expiry(tmp_path: Path):
    clock = Clock()
    ThreadHistory(tmp_path / "h.db", clock=clock).add("t", "asked before a restart")
    clock.now += 3600
    assert ThreadHistory(tmp_path / "h.db", clock=clock).recent("t") == ["asked before a restart"]


def test_the_expiry_is_a_setting():
    assert Settings.from_env({}, dotenv=None).history_hours == 24.0
    assert Settings.from_env({"READBOT_HISTORY_HOURS": "2.5"}, dotenv=None).history_hours == 2.5
