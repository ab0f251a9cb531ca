"""Slack's Agents & AI Apps surface (the assistant side panel), through bolt's ``AsyncAssistant``:

* ``assistant_thread_started``: a greeting, and suggested prompts drawn from the readings (the prompt
  bank's discussion questions on a reading that is indexed: ``AdapterKit.suggested_prompts``);
* a person's message in the panel: the thread titled after the question, a status ("is thinking…")
  while readbot answers, then the answer in the thread (the status clears when it is posted); an
  LLM's answer is streamed as the model writes it (:mod:`.streaming`). The message goes to the
  dispatcher like a DM, so it is answered by the same Q&A feature;
* ``assistant_thread_context_changed``: bolt's default (the channel the person is looking at is kept
  in the thread's metadata).

Needs the ``assistant:write`` scope and the ``assistant_thread_started``,
``assistant_thread_context_changed`` and ``message.im`` events (``deploy/slack-manifest.yaml``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAssistant
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.say.async_say import AsyncSay
from slack_bolt.context.set_status.async_set_status import AsyncSetStatus
from slack_bolt.context.set_suggested_prompts.async_set_suggested_prompts import AsyncSetSuggestedPrompts
from slack_bolt.context.set_title.async_set_title import AsyncSetTitle
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.adapters.slack.streaming import AnswerStream, StreamingResponder
from bot.adapters.slack.translate import message_from_dm

if TYPE_CHECKING:
    from bot.adapters.slack.adapter import SlackAdapter

log = logging.getLogger(__name__)

GREETING = "Hi! Ask me anything about the reading: I answer from the text and cite the section."
PROMPTS_TITLE = "Questions from the reading's discussion:"
THINKING = "is thinking…"
TITLE_LIMIT = 60
PROMPT_TITLE_LIMIT = 75


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_assistant(adapter: SlackAdapter, suggested_prompts: Callable[[], list[str]]) -> AsyncAssistant:
    assistant = AsyncAssistant(logger=logging.getLogger("bot.adapters.slack.bolt"))

    @assistant.thread_started
    async def started(say: AsyncSay, set_suggested_prompts: AsyncSetSuggestedPrompts) -> None:
        await say(GREETING)
        try:
            prompts = suggested_prompts()
        except Exception:
            log.exception("could not draw suggested prompts from the readings")
            prompts = []
        if prompts:
            await set_suggested_prompts(
                prompts=[{"title": shorten(p, PROMPT_TITLE_LIMIT), "message": p} for p in prompts],
                title=PROMPTS_TITLE,
            )

    @assistant.user_message
    async def user_message(
        body: dict[str, Any],
        context: AsyncBoltContext,
        request: AsyncBoltRequest,
        set_status: AsyncSetStatus,
        set_title: AsyncSetTitle,
    ) -> None:
        event = message_from_dm(body, context.bot_user_id or adapter.bot_user_id)
        if event is None or not event.text.strip():
            return
        try:
            await set_title(shorten(event.text, TITLE_LIMIT))
            await set_status(THINKING)
        except Exception:  # a title or status is a nicety: the question is answered regardless
            log.warning("slack assistant: could not set the thread's title or status", exc_info=True)
        stream = AnswerStream(adapter.client, event.where, event.user, body.get("team_id") or context.team_id)
        responder = StreamingResponder(adapter, event.where, event.user, stream)
        adapter._accept("assistant message", event, responder, request.headers, text_sink=stream.sink)

    return assistant
