"""Coalesced poll-card edits: a burst of votes makes at most one edit per second per poll."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.core.tasks import InFlight

log = logging.getLogger(__name__)


class LiveUpdates:
    def __init__(
        self,
        refresh: Callable[[str], Awaitable[None]],
        *,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._refresh = refresh
        self._interval = interval
        self._monotonic = monotonic
        self._last: dict[str, float] = {}
        self._pending: set[str] = set()  # polls with an edit scheduled
        self._edits = InFlight("poll card edits")
        self._locks: dict[str, asyncio.Lock] = {}

    def touch(self, poll_id: str) -> None:
        """The poll changed: edit its card soon. The edit reads the newest tally, so
        changes arriving while one is pending are carried by it."""
        if poll_id not in self._pending:
            self._pending.add(poll_id)
            self._edits.spawn(self._flush(poll_id))

    def lock(self, poll_id: str) -> asyncio.Lock:
        """Held while a poll's card is being edited; closing takes it too, so a live edit
        can never land after the final card."""
        return self._locks.setdefault(poll_id, asyncio.Lock())

    async def _flush(self, poll_id: str) -> None:
        async with self.lock(poll_id):  # one edit at a time per poll, each at least `interval` after the last
            try:
                wait = self._last.get(poll_id, float("-inf")) + self._interval - self._monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            finally:
                self._pending.discard(poll_id)  # later changes schedule the next edit
            try:
                await self._refresh(poll_id)
            except Exception:
                log.exception("could not update the card of poll %s", poll_id)
            finally:
                self._last[poll_id] = self._monotonic()

    async def drain(self) -> None:
        """Wait for pending edits (at shutdown, and in tests)."""
        while self._pending or any(lock.locked() for lock in self._locks.values()):
            await self._edits.idle()
            await asyncio.sleep(0)
