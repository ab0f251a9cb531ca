"""A tiny Prometheus registry (text format 0.0.4) and readbot's metrics.

The core calls :class:`Metrics` (a no-op by default, so constructors stay backward
compatible); ``readbot run`` injects :class:`PrometheusMetrics`, served on ``/metrics``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Sequence
from typing import TypeVar

from bot.core.metrics import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LabelValues = tuple[str, ...]
M = TypeVar("M", "Counter", "Histogram")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


class Counter:
    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.labels = name, help, tuple(labels)
        self._values: dict[LabelValues, float] = {} if labels else {(): 0.0}
        self._lock = threading.Lock()

    def inc(self, *values: str, amount: float = 1.0) -> None:
        if len(values) != len(self.labels) or amount < 0:
            raise ValueError(f"{self.name}: expected {len(self.labels)} label value(s) and amount >= 0")
        with self._lock:
            self._values[values] = self._values.get(values, 0.0) + amount

    def value(self, *values: str) -> float:
        return self._values.get(values, 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [
            f"# HELP {self.name} {self.help}",
            f"# TYPE {self.name} counter",
            *(f"{self.name}{_labels(self.labels, k)} {_number(v)}" for k, v in items),
        ]


class Histogram:
    def __init__(self, name: str, help: str, buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        self.name, self.help = name, help
        self.buckets = (*sorted(buckets), math.inf)
        self._counts = [0] * len(self.buckets)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1
                    break

    @property
    def count(self) -> int:
        return sum(self._counts)

    def render(self) -> list[str]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, n in zip(self.buckets, counts, strict=True):
            running += n
            lines.append(f'{self.name}_bucket{{le="{_number(bound)}"}} {running}')
        lines += [f"{self.name}_sum {_number(total)}", f"{self.name}_count {running}"]
        return lines


class Registry:
    def __init__(self) -> None:
        self._metrics: list[Counter | Histogram] = []

    def add(self, metric: M) -> M:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        return "\n".join(line for m in self._metrics for line in m.render()) + "\n"


class PrometheusMetrics(Metrics):
    def __init__(self) -> None:
        self.registry = r = Registry()
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

    def render(self) -> str:
        return self.registry.render()


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
