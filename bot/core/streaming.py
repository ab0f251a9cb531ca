"""Text as it is being written: while an LLM writes an answer, the adapter of a platform that can show
a message growing (Slack's chat streaming in the assistant panel) sets ``TEXT_SINK`` for the event being
handled; the LLM path feeds it each piece of text as the model produces it (from a worker thread), and
the final reply still arrives through the responder as usual (the stream is finished with it)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

TextSink = Callable[[str], None]
TEXT_SINK: ContextVar[TextSink | None] = ContextVar("readbot_text_sink", default=None)
