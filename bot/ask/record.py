"""What happens around an answer: the rate limit before it, and after it the record that feedback,
sharing and /insights read, and the buttons the answer carries (👍, 👎, and "Share with the channel"
on a private one).

``/ask private: …`` (or ``private …``; on Discord the ``private`` option) answers only the asker.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from bot.ask.answers import AnswerLog, Limits, RateLimited
from bot.clock import Clock
from bot.core.events import Button, Command, Event, Message, Reply, Visibility
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.moderation import is_moderator
from bot.knowledge.answer import Answer
from bot.store.db import is_outage

log = logging.getLogger(__name__)

DEFAULT_LIMITS = Limits()
FEEDBACK = "feedback"  # the button and form prefix
UP, DOWN, SHARE = f"{FEEDBACK}:up", f"{FEEDBACK}:down", f"{FEEDBACK}:share"
PRIVATE_WORD = re.compile(r"^\s*private\s*:\s*", re.IGNORECASE)  # "private:" (a question may start with "private")
TRUE = frozenset({"yes", "true", "on", "1", "private"})


def asks_privately(event: Event) -> tuple[bool, str | None]:
    """Whether a question asks for a private answer, and its text without the flag word (None when
    the text is unchanged). Discord sends the ``private`` option; Slack and the console a leading
    ``private:`` (``/ask private: what is …``; the colon is needed, as a question may begin with the word)."""
    if not isinstance(event, Command):
        return False, None
    if event.options.get("private", "").strip().lower() in TRUE:
        return True, None
    text = event.options.get("question") or event.text
    flag = PRIVATE_WORD.match(text)
    if flag is None:
        return False, None
    return True, text[flag.end() :]


def feedback_buttons(answer_id: str) -> tuple[Button, ...]:
    return (Button("👍 Helpful", UP, answer_id), Button("👎 Not helpful", DOWN, answer_id))


def share_button(answer_id: str) -> Button:
    return Button("Share with the channel", SHARE, answer_id, style="primary")


class AnswerRecorder:
    def __init__(
        self,
        log: AnswerLog,
        clock: Clock,
        *,
        limits: Limits = DEFAULT_LIMITS,
        moderators: frozenset[str] = frozenset(),
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self.log = log
        self.clock = clock
        self.limits = limits
        self.moderators = moderators
        self.metrics = metrics
        self._outage = False  # logged once per database outage

    def _down(self, exc: BaseException) -> None:
        if not self._outage:
            log.warning("answers can't be kept right now (%s): answering without rate limits or feedback", exc)
            self._outage = True

    async def admit(self, event: Message | Command, question: str, *, private: bool) -> str | None:
        """The answer id of a question about to be answered; a person or channel over the limit gets
        :class:`RateLimited` (a private line saying when to try again). Moderators are never limited.
        With the database down the question is still answered: None (no limit, no record, no buttons)."""
        channel = event.where.channel
        limits = None if is_moderator(event.user, self.moderators) else self.limits
        try:
            return await self.log.admit(
                channel.platform,
                channel.id,
                event.user.id,
                question,
                now=self.clock.now(),
                private=private,
                limits=limits,
            )
        except RateLimited as exc:
            self.metrics.rate_limited(channel.platform, exc.scope)
            raise
        except Exception as exc:
            if not is_outage(exc):
                raise
            self._down(exc)
            return None

    async def answered(self, answer_id: str, answer: Answer, reply: Reply, *, private: bool) -> Reply:
        """Keep the answer and give it its buttons (small talk gets none and isn't a question)."""
        status = "chat" if answer.small_talk else "answered" if answer.grounded else "declined"
        try:
            await self.log.finish(answer_id, reply.text, reply.citations, grounded=answer.grounded, status=status)
        except Exception as exc:  # the database went down meanwhile: the answer still goes, without buttons
            if not is_outage(exc):
                raise
            self._down(exc)
            return replace(reply, visibility=Visibility.PRIVATE) if private else reply
        if self._outage:
            self._outage = False
            log.info("answers are kept again")
        if answer.small_talk:
            return replace(reply, visibility=Visibility.PRIVATE) if private else reply
        buttons = (*reply.buttons, *feedback_buttons(answer_id), *((share_button(answer_id),) if private else ()))
        return replace(reply, buttons=buttons, visibility=Visibility.PRIVATE if private else reply.visibility)

    async def failed(self, answer_id: str) -> None:
        try:
            await self.log.failed(answer_id)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self._down(exc)
