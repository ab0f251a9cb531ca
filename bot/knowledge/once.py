"""A process-wide object, built on first use by whichever thread asks first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    """``Once(build)()`` builds on the first call and returns that object ever after. The lock
    matters: ``functools.lru_cache`` alone lets two threads that ask at once build it twice
    (a model loaded twice: twice the memory, twice the seconds)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: T | None = None

    def __call__(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value
