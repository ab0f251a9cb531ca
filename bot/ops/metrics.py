"""readbot's metrics, kept and exposed by ``prometheus_client``.

The core calls :class:`Metrics` (a no-op by default, so constructors stay backward
compatible); ``readbot run`` injects :class:`PrometheusMetrics`, served on ``/metrics``:
readbot's counters and latency histogram plus the library's process, platform and GC
collectors, in a registry of the instance's own (not the library's global one, so several
instances, and tests, never share series), as the text format or OpenMetrics, whichever the
scraper's Accept header asks for. :class:`Counter`, :class:`Histogram` and :class:`Registry`
are readbot's calling convention (label values positional) over the library's classes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TypeVar

import prometheus_client
from prometheus_client.exposition import choose_encoder
from prometheus_client.samples import Sample

from bot.core.metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LabelValues = tuple[str, ...]
M = TypeVar("M", "Counter", "Histogram")


class Counter:
    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.labels = name, help, tuple(labels)
        self.metric = prometheus_client.Counter(name, help, self.labels, registry=None)

    def inc(self, *values: str, amount: float = 1.0) -> None:
        if len(values) != len(self.labels) or amount < 0:
            raise ValueError(f"{self.name}: expected {len(self.labels)} label value(s) and amount >= 0")
        (self.metric.labels(*values) if values else self.metric).inc(amount)

    def value(self, *values: str) -> float:
        wanted = dict(zip(self.labels, values, strict=True))
        return next((s.value for s in _samples(self.metric) if s.name.endswith("_total") and s.labels == wanted), 0.0)


def _samples(metric: prometheus_client.metrics.MetricWrapperBase) -> list[Sample]:
    return [sample for family in metric.collect() for sample in family.samples]


class Histogram:
    def __init__(self, name: str, help: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help = name, help
        self.buckets = (*sorted(buckets), math.inf)
        self.metric = prometheus_client.Histogram(name, help, buckets=self.buckets, registry=None)

    def observe(self, value: float) -> None:
        self.metric.observe(value)

    @property
    def count(self) -> int:
        return next(int(s.value) for s in _samples(self.metric) if s.name == f"{self.name}_count")


class Registry(prometheus_client.CollectorRegistry):
    def add(self, metric: M) -> M:
        self.register(metric.metric)
        return metric

    def render(self) -> str:
        """The text format (0.0.4)."""
        return prometheus_client.generate_latest(self).decode()

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The page and its content type for a scrape with this Accept header (OpenMetrics if asked,
        else the text format, CONTENT_TYPE)."""
        try:
            encoder, content_type = choose_encoder(accept)
        except (TypeError, ValueError):  # a version in Accept prometheus_client can't compare: the classic format
            encoder, content_type = prometheus_client.generate_latest, CONTENT_TYPE
        return encoder(self), content_type


class PrometheusMetrics(Metrics):
    def __init__(self) -> None:
        self.registry = r = Registry()
        for collector in (
            prometheus_client.ProcessCollector,
            prometheus_client.PlatformCollector,
            prometheus_client.GCCollector,
        ):
            collector(registry=r)
        self.questions = r.add(Counter("readbot_questions_answered_total", "Questions answered.", ["platform"]))
        self.latency = r.add(
            Histogram("readbot_answer_latency_seconds", "Seconds from receiving a question to its answer being sent.")
        )
        self.not_covered = r.add(
            Counter(
                "readbot_answers_not_covered_total",
                "Answers saying the reading does not cover the question.",
                ["platform"],
            )
        )
        self.votes = r.add(Counter("readbot_votes_total", "Poll vote clicks counted (new, changed or repeated)."))
        self.polls_opened = r.add(Counter("readbot_polls_opened_total", "Polls opened."))
        self.polls_closed = r.add(Counter("readbot_polls_closed_total", "Polls closed (by a moderator or deadline)."))
        self.prompts = r.add(Counter("readbot_prompts_posted_total", "Discussion prompts posted."))
        self.errors = r.add(Counter("readbot_errors_total", "Errors logged, by kind.", ["kind"]))
        self.rejected_requests = r.add(
            Counter(
                "readbot_rejected_requests_total",
                "Requests refused before any handler ran (bad or missing signature, malformed), by reason.",
                ["reason"],
            )
        )
        self.feedback_given = r.add(
            Counter("readbot_answer_feedback_total", "👍 (up) and 👎 (down) given on answers.", ["verdict"])
        )
        for verdict in ("up", "down"):  # both shown from the start, at 0
            self.feedback_given.inc(verdict, amount=0)
        self.limited = r.add(
            Counter(
                "readbot_questions_rate_limited_total",
                "Questions refused by a rate limit, by platform and scope (user or channel).",
                ["platform", "scope"],
            )
        )
        self.outbox_pending_items = prometheus_client.Gauge(
            "readbot_outbox_pending", "Decided platform posts and edits not delivered yet.", registry=r
        )
        self.outbox_failures = r.add(
            Counter(
                "readbot_outbox_failed_total",
                "Outbox items given up on (24 h of retries, or a permanent error).",
                ["kind"],
            )
        )
        self.outbox_latency = r.add(
            Histogram("readbot_outbox_delivery_seconds", "Seconds from an outbox item's decision to its delivery.")
        )
        self.events = r.add(
            Counter(
                "readbot_events_total",
                "Events from people reaching the dispatcher, by platform, kind and whether a handler took them.",
                ["platform", "kind", "outcome"],
            )
        )

    def event(self, platform: str, kind: str, handled: bool) -> None:
        self.events.inc(platform, kind, "handled" if handled else "ignored")

    def answered(self, platform: str, seconds: float, covered: bool) -> None:
        self.questions.inc(platform)
        self.latency.observe(seconds)
        if not covered:
            self.not_covered.inc(platform)

    def feedback(self, verdict: str) -> None:
        self.feedback_given.inc(verdict)

    def rate_limited(self, platform: str, scope: str) -> None:
        self.limited.inc(platform, scope)

    def vote(self) -> None:
        self.votes.inc()

    def poll_opened(self) -> None:
        self.polls_opened.inc()

    def poll_closed(self) -> None:
        self.polls_closed.inc()

    def prompt_posted(self) -> None:
        self.prompts.inc()

    def error(self, kind: str) -> None:
        self.errors.inc(kind)

    def rejected(self, reason: str) -> None:
        self.rejected_requests.inc(reason)

    def outbox_pending(self, count: int) -> None:
        self.outbox_pending_items.set(count)

    def outbox_failed(self, kind: str) -> None:
        self.outbox_failures.inc(kind)

    def outbox_delivered(self, kind: str, seconds: float) -> None:
        self.outbox_latency.observe(seconds)

    def render(self) -> str:
        return self.registry.render()

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        return self.registry.exposition(accept)


# logger name prefix → error kind (first match wins)
ERROR_KINDS = (
    ("bot.core", "handler"),
    ("bot.ask", "handler"),
    ("bot.adapters.slack", "slack"),
    ("bot.adapters.discord", "discord"),
    ("bot.polls", "polls"),
    ("bot.prompts", "prompts"),
    ("bot.knowledge", "knowledge"),
    ("bot.store", "database"),
    ("slack_bolt", "slack"),
    ("slack_sdk", "slack"),
    ("discord", "discord"),
    ("aiohttp", "http"),
    ("sqlalchemy", "database"),
)


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
