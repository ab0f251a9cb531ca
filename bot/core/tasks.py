"""Work in flight: one helper for every place that starts tasks and must wait for them at
shutdown (adapters answering events, schedulers posting, poll cards being edited)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class InFlight:
    """Tasks started with :meth:`spawn` (or joined with :meth:`tracking`), awaited by :meth:`drain`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return sum(1 for t in self._tasks if not t.done())

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @contextlib.asynccontextmanager
    async def tracking(self) -> AsyncIterator[None]:
        """Count the current task as in flight while the block runs."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def idle(self) -> None:
        """Wait until every task started so far (and any they start) has finished."""
        await asyncio.sleep(0)  # let work already scheduled spawn its tasks
        current = asyncio.current_task()
        while pending := {t for t in self._tasks if not t.done() and t is not current}:
            await asyncio.wait(pending)

    async def drain(self, timeout: float) -> int:
        """Give the tasks in flight ``timeout`` seconds, then cancel the rest; returns how many were
        cancelled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await asyncio.sleep(0)
        current = asyncio.current_task()
        while pending := {t for t in self._tasks if not t.done() and t is not current}:
            left = deadline - loop.time()
            if left <= 0:
                break
            await asyncio.wait(pending, timeout=left)
        pending = {t for t in self._tasks if not t.done() and t is not current}
        if pending:
            log.warning("%s: cancelling %d unfinished task(s)", self.name, len(pending))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)
