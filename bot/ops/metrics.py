"""readbot's metrics, through ``prometheus_client``.

The core calls :class:`Metrics` (a no-op by default, so constructors stay backward
compatible); ``readbot run`` injects :class:`PrometheusMetrics`, served on ``/metrics``:
readbot's counters and latency histogram plus the library's process, platform and GC
collectors, in a registry of its own (not the library's global one, so several instances,
and tests, don't share series), in the text format or OpenMetrics as the scraper asks.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import choose_encoder

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # served when the scraper asks for nothing better
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# names this module had when it wrote the format by hand, kept for importers
LabelValues = tuple[str, ...]
M = TypeVar("M", Counter, Histogram)
Registry = CollectorRegistry


class Metrics:
    """What the core reports. This base class records nothing (the default everywhere)."""

    def answered(self, platform: str, seconds: float, covered: bool) -> None: ...

    def vote(self) -> None: ...

    def poll_opened(self) -> None: ...

    def poll_closed(self) -> None: ...

    def prompt_posted(self) -> None: ...

    def error(self, kind: str) -> None: ...


NO_METRICS = Metrics()


class PrometheusMetrics(Metrics):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = CollectorRegistry() if registry is None else registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.questions = Counter("readbot_questions_answered_total", "Questions answered.", ["platform"], registry=r)
        self.latency = Histogram("readbot_answer_latency_seconds",
                                 "Seconds from receiving a question to its answer being sent.",
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.not_covered = Counter("readbot_answers_not_covered_total",
                                   "Answers saying the reading does not cover the question.", ["platform"], registry=r)
        self.votes = Counter("readbot_votes_total", "Poll vote clicks counted (new, changed or repeated).", registry=r)
        self.polls_opened = Counter("readbot_polls_opened_total", "Polls opened.", registry=r)
        self.polls_closed = Counter("readbot_polls_closed_total", "Polls closed (by a moderator or deadline).",
                                    registry=r)
        self.prompts = Counter("readbot_prompts_posted_total", "Discussion prompts posted.", registry=r)
        self.errors = Counter("readbot_errors_total", "Errors logged, by kind.", ["kind"], registry=r)

    def answered(self, platform: str, seconds: float, covered: bool) -> None:
        self.questions.labels(platform).inc()
        self.latency.observe(seconds)
        if not covered:
            self.not_covered.labels(platform).inc()

    def vote(self) -> None:
        self.votes.inc()

    def poll_opened(self) -> None:
        self.polls_opened.inc()

    def poll_closed(self) -> None:
        self.polls_closed.inc()

    def prompt_posted(self) -> None:
        self.prompts.inc()

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def value(self, name: str, **labels: str) -> float:
        """One sample's value (0 when it has none yet), e.g. ``value("readbot_errors_total", kind="slack")``."""
        return self.registry.get_sample_value(name, labels) or 0.0

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The page and its content type for a scrape with this Accept header (OpenMetrics if asked)."""
        try:
            encoder, content_type = choose_encoder(accept)
        except (TypeError, ValueError):  # an unreadable version in Accept (prometheus_client can't compare it)
            encoder, content_type = generate_latest, CONTENT_TYPE
        return encoder(self.registry), content_type

    def render(self) -> str:
        """The text format (0.0.4)."""
        return generate_latest(self.registry).decode()


# logger name prefix → error kind (first match wins)
ERROR_KINDS = (("bot.core", "handler"), ("bot.adapters.slack", "slack"), ("bot.adapters.discord", "discord"),
               ("bot.polls", "polls"), ("bot.prompts", "prompts"), ("bot.knowledge", "knowledge"),
               ("bot.store", "database"), ("slack_bolt", "slack"), ("slack_sdk", "slack"),
               ("discord", "discord"), ("aiohttp", "http"), ("sqlalchemy", "database"))


def error_kind(logger: str) -> str:
    for prefix, kind in ERROR_KINDS:
        if logger == prefix or logger.startswith(prefix + "."):
            return kind
    return "other"


class ErrorCounter(logging.Handler):
    """Counts every ERROR (or worse) record as ``readbot_errors_total{kind}``: the core already
    logs each failure once (a handler that failed, a poll that could not close, a prompt given up)."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        self.metrics.error(error_kind(record.name))
