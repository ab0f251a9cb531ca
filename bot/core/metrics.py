"""What the kernel and the features report. This base records nothing; ``bot.ops.metrics``
implements it for Prometheus and the composition root passes one in at construction."""

from __future__ import annotations


class Metrics:
    def event(self, platform: str, kind: str, handled: bool) -> None: ...

    def answered(self, platform: str, seconds: float, covered: bool) -> None: ...

    def vote(self) -> None: ...

    def poll_opened(self) -> None: ...

    def poll_closed(self) -> None: ...

    def prompt_posted(self) -> None: ...

    def error(self, kind: str) -> None: ...

    def rejected(self, reason: str) -> None:
        """A request refused at the door (unsigned, malformed): not an error."""

    def feedback(self, verdict: str) -> None:
        """A 👍 ("up") or 👎 ("down") given or changed to on an answer."""

    def rate_limited(self, platform: str, scope: str) -> None:
        """A question refused by the rate limit of a person ("user") or a channel ("channel")."""

    def outbox_pending(self, count: int) -> None: ...

    def outbox_failed(self, kind: str) -> None: ...

    def outbox_delivered(self, kind: str, seconds: float) -> None: ...


NO_METRICS = Metrics()
