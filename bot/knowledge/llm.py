"""Optional LLM answers through langchain, grounded in retrieved passages only.

The model only writes the prose: which sections are cited is decided by readbot from
what was retrieved, never taken from the model's output. On any provider error or a
timeout the caller falls back to the extractive answer with a one-line note.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.core.streaming import TEXT_SINK, TextSink
from bot.errors import ConfigError
from bot.knowledge.retrieval import Passage, Retrieval
from bot.paths import shipped

TEMPLATE_PATH = shipped("prompts") / "answer.md"


class LLMUnavailable(Exception):
    """The model failed or took too long; the message says which, for the log."""


def load_template(path: Path = TEMPLATE_PATH) -> str:
    return path.read_text(encoding="utf-8")


def make_chat_model(spec: str) -> Any:
    """READBOT_LLM=provider:model through langchain's init_chat_model."""
    if ":" not in spec:
        raise ConfigError(f"READBOT_LLM={spec!r}: expected provider:model, e.g. openai:gpt-4o-mini")
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:
        raise ConfigError(f"READBOT_LLM={spec!r} needs the llm extra: pip install 'readbot[llm]'") from exc
    try:
        return init_chat_model(spec)
    except Exception as exc:  # provider packages raise many kinds
        raise ConfigError(f"READBOT_LLM={spec!r} could not be loaded: {exc}") from exc


def _text(content: Any) -> str:
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content)


class LLMAnswerer:
    def __init__(self, model: Any, *, timeout: float = 20.0, template: str | None = None) -> None:
        self.model = model
        self.timeout = timeout
        self.template = template if template is not None else load_template()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    def prompt(self, retrieval: Retrieval, history: Sequence[str] = (), evidence: Sequence[Passage] = ()) -> str:
        """The selected evidence (the passages the extractive answer quotes), else each of
        the two best sections' best passage."""
        chosen = list(evidence) or [hit.passages[0] for hit in retrieval.hits[:2]]
        passages = "\n".join(f"- {p.section}: {p.text}" + "".join(f"\n  - {d}" for d in p.details) for p in chosen)
        earlier = "".join(f"- {q}\n" for q in history)
        history_block = f"Earlier questions in this thread:\n{earlier}\n" if earlier else ""
        return self.template.format(passages=passages, question=retrieval.question, history=history_block)

    def answer(self, retrieval: Retrieval, history: Sequence[str] = (), evidence: Sequence[Passage] = ()) -> str:
        return self.complete(self.prompt(retrieval, history, evidence))

    def complete(self, prompt: str) -> str:
        """The model's text for ``prompt`` within the timeout; raises LLMUnavailable otherwise. With a text
        sink set for the event being handled (:mod:`bot.core.streaming`), the model is streamed and each
        piece goes to the sink as it comes."""
        sink = TEXT_SINK.get()
        if sink is not None and hasattr(self.model, "stream"):
            future = self._pool.submit(self._streamed, prompt, sink)
        else:
            future = self._pool.submit(self.model.invoke, prompt)
        try:
            message = future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError as exc:
            future.cancel()
            raise LLMUnavailable(f"no answer within {self.timeout:g} s") from exc
        except Exception as exc:  # any provider failure
            raise LLMUnavailable(f"{type(exc).__name__}: {exc}") from exc
        text = _text(getattr(message, "content", message)).strip()
        if not text:
            raise LLMUnavailable("empty answer")
        return text

    def _streamed(self, prompt: str, sink: TextSink) -> str:
        parts: list[str] = []
        for chunk in self.model.stream(prompt):
            text = _text(getattr(chunk, "content", chunk))
            if text:
                parts.append(text)
                sink(text)
        return "".join(parts)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
