"""Per-thread question history, so follow-ups are answered in context.

SQLite under the data dir; bounded to the last ``keep`` questions of each thread. A
thread's history expires ``ttl_hours`` after its last message (READBOT_HISTORY_HOURS,
24 by default): a question asked the next day starts afresh. Expired threads are
deleted as they are met and, at most once a minute, in bulk.
Blocking (sqlite3): async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS thread_questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_key TEXT NOT NULL,
    question TEXT NOT NULL,
    asked_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_questions_key ON thread_questions (thread_key, id);
CREATE INDEX IF NOT EXISTS thread_questions_time ON thread_questions (asked_at);
"""
SWEEP_EVERY = 60.0  # seconds between bulk deletions of expired threads
LOCK_WAIT = 30.0  # seconds a statement waits for another connection's lock on the file


def _retry_locked(run: Callable[[], object], tries: int = 5) -> None:
    """Run a schema statement, again after a short pause if SQLite says the file is locked (in WAL
    mode a lock taken by a reader that becomes a writer is refused at once, whatever the timeout)."""
    for attempt in range(tries):
        try:
            run()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


class ThreadHistory:
    def __init__(
        self, path: Path, keep: int = 4, *, ttl_hours: float = 24.0, clock: Callable[[], float] = time.time
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.ttl = ttl_hours * 3600.0
        self._clock = clock
        # the same file as the app's database, which other connections write meanwhile (migrations, the
        # readiness probe): wait for their locks rather than fail start-up
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=LOCK_WAIT)
        _retry_locked(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
        _retry_locked(lambda: self._db.executescript(SCHEMA))
        self._lock = threading.Lock()
        self._swept = 0.0

    def recent(self, thread_key: str) -> list[str]:
        """The thread's last questions, oldest first; none once the thread has been quiet
        for longer than the expiry."""
        now = self._clock()
        with self._lock:
            self._sweep(now)
            rows = self._db.execute(
                "SELECT question, asked_at FROM thread_questions WHERE thread_key = ? ORDER BY id DESC LIMIT ?",
                (thread_key, self.keep),
            ).fetchall()
            if rows and now - rows[0][1] > self.ttl:  # the newest is too old: the thread expired
                self._db.execute("DELETE FROM thread_questions WHERE thread_key = ?", (thread_key,))
                return []
        return [r[0] for r in reversed(rows)]

    def add(self, thread_key: str, question: str) -> None:
        if self.keep <= 0:
            return
        now = self._clock()
        with self._lock:
            newest = self._db.execute(
                "SELECT MAX(asked_at) FROM thread_questions WHERE thread_key = ?", (thread_key,)
            ).fetchone()[0]
            if newest is not None and now - newest > self.ttl:  # expired: start the thread afresh
                self._db.execute("DELETE FROM thread_questions WHERE thread_key = ?", (thread_key,))
            self._db.execute(
                "INSERT INTO thread_questions (thread_key, question, asked_at) VALUES (?, ?, ?)",
                (thread_key, question, now),
            )
            self._db.execute(
                "DELETE FROM thread_questions WHERE thread_key = ? AND id NOT IN "
                "(SELECT id FROM thread_questions WHERE thread_key = ? ORDER BY id DESC LIMIT ?)",
                (thread_key, thread_key, self.keep),
            )

    def _sweep(self, now: float) -> None:
        """Drop every thread whose newest question is older than the expiry."""
        if now - self._swept < SWEEP_EVERY:
            return
        self._swept = now
        self._db.execute(
            "DELETE FROM thread_questions WHERE thread_key IN (SELECT thread_key FROM thread_questions "
            "GROUP BY thread_key HAVING MAX(asked_at) < ?)",
            (now - self.ttl,),
        )

    def close(self) -> None:
        self._db.close()
