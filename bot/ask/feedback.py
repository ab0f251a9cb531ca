"""Feedback on answers and what the group asked: the 👍/👎 buttons and the "what was wrong?" form,
"Share with the channel" on a private answer, and ``/insights`` for moderators.

A feature of its own (``feedback``), built by :func:`build` next to the ask feature, whose answers
carry its buttons (:mod:`bot.ask.record`).
"""

from __future__ import annotations

from bot.ask.answers import AnswerLog, UnknownAnswer, VoteResult
from bot.ask.insights import Insights, gather
from bot.ask.record import DOWN, FEEDBACK, SHARE, UP, feedback_buttons
from bot.ask.weekly import WeeklyPoster
from bot.clock import Clock
from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.commands import CommandSpec, OptionSpec
from bot.core.events import ButtonClick, Command, Event, Form, FormField, FormSubmitted, Reply, Visibility
from bot.core.feature import Feature, Task, bind
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.moderation import require_moderator
from bot.errors import InputError

NOTE_FORM = f"{FEEDBACK}:note"
MAX_DAYS = 366
DEFAULT_DAYS = 7

INSIGHTS = CommandSpec(
    name="insights",
    description="What the group asked: questions, sections, what the reading didn't cover, feedback",
    options=(OptionSpec("days", "How many days back (1-366, default 7)"),),
    moderator_only=True,
    usage="[days]",
    free_text="days",
)
COMMANDS = (INSIGHTS,)


def private(text: str) -> Reply:
    return Reply(text, visibility=Visibility.PRIVATE)


def parse_days(raw: str) -> int:
    raw = raw.strip().lower().removesuffix("days").removesuffix("d").strip()
    if not raw:
        return DEFAULT_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise InputError(f"Give a number of days from 1 to {MAX_DAYS}, e.g. /insights 7.")
    return int(raw)


async def insights(log: AnswerLog, clock: Clock, days: int) -> Insights:
    return await gather(log, clock.now(), days)


def note_form(answer_id: str) -> Form:
    return Form(
        f"{NOTE_FORM}:{answer_id}",
        "What was wrong?",
        "Send",
        (
            FormField(
                "note",
                "What was wrong with this answer?",
                multiline=True,
                max_length=500,
                optional=False,
                hint="The moderators see this with the question; it helps them fix the reading or the bot.",
            ),
        ),
    )


def shared_text(question: str, answer: str, by: str) -> str:
    return f"“{question}”\n{answer}\n(shared by {by or 'a member'})"


class FeedbackHandler:
    def __init__(
        self, log: AnswerLog, clock: Clock, *, moderators: frozenset[str], metrics: Metrics = NO_METRICS
    ) -> None:
        self.log = log
        self.clock = clock
        self.moderators = moderators
        self.metrics = metrics

    async def button(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, ButtonClick)
        answer_id = event.value.strip()
        if not answer_id:
            raise UnknownAnswer()
        if event.action == SHARE:
            await self._share(event, answer_id, responder)
            return
        if event.action not in (UP, DOWN):
            raise InputError("That button no longer does anything.")
        verdict = "up" if event.action == UP else "down"
        platform = event.where.channel.platform
        result, note = await self.log.vote(answer_id, platform, event.user.id, verdict, now=self.clock.now())
        if result is not VoteResult.SAME:
            self.metrics.feedback(verdict)
        if verdict == "up":
            await responder.reply(
                private(
                    "You already marked this answer 👍."
                    if result is VoteResult.SAME
                    else "Thanks for the 👍."
                    if result is VoteResult.NEW
                    else "Changed to 👍. Thanks."
                )
            )
            return
        if note:  # a second 👎 form would only ask again what was already said
            await responder.reply(
                private("You marked this answer 👎 and said what was wrong; thanks, nothing changed.")
            )
            return
        try:
            await responder.open_form(note_form(answer_id))
            return
        except UnsupportedOperation:
            pass
        await responder.reply(
            private("You already marked this answer 👎." if result is VoteResult.SAME else "Thanks: marked 👎.")
        )

    async def form(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, FormSubmitted)
        answer_id = event.form_id.removeprefix(f"{NOTE_FORM}:")
        if not event.form_id.startswith(f"{NOTE_FORM}:") or not answer_id:
            raise InputError("That form is not one readbot knows any more.")
        await self.log.add_note(
            answer_id, event.where.channel.platform, event.user.id, event.values.get("note", ""), now=self.clock.now()
        )
        await responder.reply(private("Thanks: the moderators will see what was wrong with that answer."))

    async def _share(self, event: ButtonClick, answer_id: str, responder: Responder) -> None:
        stored = await self.log.get(answer_id)
        if stored is None:
            raise UnknownAnswer()
        if stored.asker != self.log.person_key(event.where.channel.platform, event.user.id):
            raise InputError("Only the person who asked can share this answer.")
        if not stored.private:
            raise InputError("This answer is already in the channel.")
        if not await self.log.mark_shared(answer_id, self.clock.now()):
            raise InputError("You already shared this answer with the channel.")
        reply = Reply(
            shared_text(stored.question, stored.answer, event.user.name),
            citations=stored.citations,
            buttons=feedback_buttons(answer_id),
        )
        try:
            await responder.reply(reply)
        except Exception:
            await self.log.unshare(answer_id)
            raise
        await responder.reply(private("Shared with the channel."))

    async def insights(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command)
        require_moderator(event.user, self.moderators, "see what the group asked")
        days = parse_days(event.options.get("days") or event.text)
        await responder.acknowledge()
        found = await insights(self.log, self.clock, days)
        await responder.reply(private(found.text()))


def build(
    log: AnswerLog,
    clock: Clock,
    *,
    moderators: frozenset[str],
    metrics: Metrics = NO_METRICS,
    weekly: WeeklyPoster | None = None,
) -> Feature:
    """``weekly``: the report posted on a schedule to a moderators' channel (``[insights]`` in readbot.toml)."""
    handler = FeedbackHandler(log, clock, moderators=moderators, metrics=metrics)
    return Feature(
        FEEDBACK,
        commands=bind(COMMANDS, {"insights": handler.insights}),
        buttons={FEEDBACK: handler.button},
        forms={FEEDBACK: handler.form},
        tasks=(Task("insights-weekly", weekly.run),) if weekly is not None else (),
    )
