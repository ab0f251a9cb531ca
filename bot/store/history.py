"""Per-thread question history, so follow-ups are answered in context.

SQLite under the data dir; bounded to the last ``keep`` questions of each thread.
Blocking (sqlite3): async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS thread_questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_key TEXT NOT NULL,
    question TEXT NOT NULL,
    asked_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_questions_key ON thread_questions (thread_key, id);
"""


class ThreadHistory:
    def __init__(self, path: Path, keep: int = 4) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def recent(self, thread_key: str) -> list[str]:
        """The thread's last questions, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT question FROM thread_questions WHERE thread_key = ? ORDER BY id DESC LIMIT ?",
                (thread_key, self.keep),
            ).fetchall()
        return [r[0] for r in reversed(rows)]

    def add(self, thread_key: str, question: str) -> None:
        if self.keep <= 0:
            return
        with self._lock:
            self._db.execute(
                "INSERT INTO thread_questions (thread_key, question, asked_at) VALUES (?, ?, ?)",
                (thread_key, question, time.time()),
            )
            self._db.execute(
                "DELETE FROM thread_questions WHERE thread_key = ? AND id NOT IN "
                "(SELECT id FROM thread_questions WHERE thread_key = ? ORDER BY id DESC LIMIT ?)",
                (thread_key, thread_key, self.keep),
            )

    def close(self) -> None:
        self._db.close()
