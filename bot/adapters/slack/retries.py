"""Events API re-deliveries: Slack retries an event (``X-Slack-Retry-Num``) when it
thinks the first delivery failed; bolt hands every retry to the listeners again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.dispatcher import RecentIds

Headers = Mapping[str, Sequence[str] | str]


def retry_num(headers: Headers) -> int | None:
    """The retry number of a delivery: None or 0 for a first delivery (Socket Mode sends
    ``retry_attempt: 0``, which bolt mirrors as this header). bolt lower-cases header
    names and holds values as lists."""
    value = headers.get("x-slack-retry-num")
    if isinstance(value, Sequence) and not isinstance(value, str):
        value = value[0] if value else None
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return 1  # a retry whose number is unreadable is still a retry


class RetryFilter:
    """Remembers handled event ids; a retry of one of them is to be dropped."""

    def __init__(self, size: int = 10_000) -> None:
        self._handled = RecentIds(size)

    def is_repeat(self, event_id: str, headers: Headers) -> bool:
        """Record ``event_id``; True if this delivery is a retry of an event already handled.

        A first delivery is never dropped here (the dispatcher deduplicates those), and a
        retry of an event this process never saw (say, after a restart) is handled."""
        if not event_id:
            return False
        new = self._handled.add(event_id)
        return not new and bool(retry_num(headers))
