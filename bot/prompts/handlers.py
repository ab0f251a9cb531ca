"""/prompt: moderators post, skip, pause and resume discussion prompts, add questions to
the channel's bank and see the schedule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.core.adapter import Responder
from bot.core.events import Command, Event, Reply, Visibility
from bot.core.moderation import require_moderator
from bot.core.text import counted
from bot.errors import InputError
from bot.prompts.config import ChannelPlan
from bot.prompts.render import local_time, shorten
from bot.prompts.scheduler import PromptScheduler
from bot.review.desk import ReviewDesk

HELP = (
    "Discussion prompts (moderators): /prompt now (post the next question here now) · /prompt skip "
    "(skip the next scheduled one) · /prompt pause · /prompt resume · /prompt list (the next five "
    "questions) · /prompt add <question> (after the questions added before) · /prompt add next <question> "
    "(posted first) · /prompt schedule (the next three times) · "
    "/prompt drafts (review the questions drafted from the reading and the members' suggestions). "
    "Anyone: /prompt suggest <question> (a moderator reviews it)"
)
QUEUE = 5  # /prompt list
NO_SCHEDULE = "There is no schedule for this channel: daily prompts are set in readbot.toml."
UPCOMING = 3

Action = Callable[[Command, str, Responder], Awaitable[str]]


def private(text: str) -> Reply:
    return Reply(text, visibility=Visibility.PRIVATE)


class PromptHandler:
    def __init__(self, scheduler: PromptScheduler, moderators: frozenset[str], desk: ReviewDesk | None = None) -> None:
        self.scheduler = scheduler
        self.moderators = moderators
        self.desk = desk
        self.actions: dict[str, tuple[str, Action]] = {
            "now": ("post discussion prompts", self._now),
            "skip": ("skip discussion prompts", self._skip),
            "pause": ("pause discussion prompts", self._pause),
            "resume": ("resume discussion prompts", self._resume),
            "add": ("add discussion questions", self._add),
            "list": ("see the queued questions", self._list),
            "schedule": ("see the prompt schedule", self._schedule),
        }

    async def command(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command)
        await responder.acknowledge()
        text = event.options.get("text", event.text).strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in ("", "help", "?"):
            await responder.reply(private(HELP))
            return
        if word == "drafts" and self.desk is not None:
            await self.desk.command("prompt", event, rest, responder)
            return
        if word == "suggest" and self.desk is not None:  # any member: it waits for a moderator's review
            await responder.reply(await self.desk.suggest("prompt", event, rest))
            return
        if word not in self.actions:
            raise InputError(f"I don't know /prompt {shorten(word, 30)}. {HELP}")
        what, action = self.actions[word]
        require_moderator(event.user, self.moderators, what)
        await responder.reply(private(await action(event, rest.strip(), responder)))

    def _plan(self, event: Command) -> ChannelPlan | None:
        channel = event.where.channel
        return self.scheduler.plan_for(channel.platform, channel.id)

    async def _next_text(self, plan: ChannelPlan | None) -> str:
        if plan is None:
            return ""
        upcoming = await self.scheduler.upcoming(plan, 1)
        return f" The next one is {local_time(upcoming[0], plan.timezone)}." if upcoming else ""

    async def _now(self, event: Command, rest: str, responder: Responder) -> str:
        if rest:
            raise InputError("/prompt now takes nothing after it; to add a question use /prompt add <question>.")
        question, _ = await self.scheduler.post_now(event.where.channel, responder.reply)
        return f"Posted the next discussion question: “{shorten(question.question, 120)}”"

    async def _skip(self, event: Command, rest: str, responder: Responder) -> str:
        plan = self._plan(event)
        if plan is None:
            raise InputError(f"{NO_SCHEDULE} Nothing to skip.")
        slot = await self.scheduler.skip_next(plan, event.user.id)
        if slot is None:
            raise InputError("There is no upcoming prompt here to skip.")
        return f"Skipped the prompt of {local_time(slot, plan.timezone)}.{await self._next_text(plan)}"

    async def _pause(self, event: Command, rest: str, responder: Responder) -> str:
        channel = event.where.channel
        changed = await self.scheduler.service.set_paused(
            channel.platform, channel.id, True, now=self.scheduler.clock.now()
        )
        if not changed:
            return "Prompts are already paused here; /prompt resume starts them again."
        return "Paused: no scheduled prompts are posted here until /prompt resume."

    async def _resume(self, event: Command, rest: str, responder: Responder) -> str:
        channel = event.where.channel
        changed = await self.scheduler.service.set_paused(
            channel.platform, channel.id, False, now=self.scheduler.clock.now()
        )
        plan = self._plan(event)
        if not changed:
            return f"Prompts are not paused here.{await self._next_text(plan)}"
        if plan is None:
            return f"Resumed. {NO_SCHEDULE}"
        return f"Resumed: scheduled prompts are posted here again.{await self._next_text(plan)}"

    async def _add(self, event: Command, rest: str, responder: Responder) -> str:
        text = rest or event.options.get("question", "")
        word, _, after = text.partition(" ")
        first = word.lower() == "next"
        if first:
            text = after.strip()
            if not text:
                raise InputError("Give the question to post first: /prompt add next <question>")
        channel = event.where.channel
        service = self.scheduler.service
        question = await service.add_question(
            channel.platform, channel.id, text, by=event.user.id, now=self.scheduler.clock.now(), first=first
        )
        queue = [q for _, q in await service.peek(channel.platform, channel.id, QUEUE * 4)]
        place = next((i for i, q in enumerate(queue) if q.id == question.id), None)
        when = ""
        plan = self._plan(event)
        if place is not None and plan is not None:
            times = await self.scheduler.upcoming(plan, place + 1)
            if len(times) > place:
                when = f", on {local_time(times[place], plan.timezone)}"
        if place == 0:
            where = f"it is the next question posted here{when}"
        elif place is not None:
            where = f"it is posted after {counted(place, 'other question')}{when}"
        else:
            where = "it is posted later in this cycle"
        return f"Added: “{shorten(question.question, 120)}”; {where}. /prompt list shows the queue."

    async def _list(self, event: Command, rest: str, responder: Responder) -> str:
        if rest:
            raise InputError("/prompt list takes nothing after it.")
        channel = event.where.channel
        queue = [q for _, q in await self.scheduler.service.peek(channel.platform, channel.id, QUEUE)]
        plan = self._plan(event)
        times = await self.scheduler.upcoming(plan, QUEUE) if plan is not None else []
        paused = await self.scheduler.service.paused(channel.platform, channel.id)
        lines = [f"The next {len(queue)} questions here (/prompt now posts the first):"]
        for i, question in enumerate(queue):
            when = f" ({local_time(times[i], plan.timezone)})" if plan is not None and i < len(times) else ""
            mark = " [added by a moderator]" if question.custom else ""
            lines.append(f"{i + 1}. {shorten(question.question, 160)}{when}{mark}")
        if paused:
            lines.append("Prompts are paused here: nothing is posted until /prompt resume.")
        elif plan is None:
            lines.append(NO_SCHEDULE)
        return "\n".join(lines)

    async def _schedule(self, event: Command, rest: str, responder: Responder) -> str:
        plan = self._plan(event)
        if plan is None:
            return NO_SCHEDULE
        times = await self.scheduler.upcoming(plan, UPCOMING)
        if not times:
            return f"No upcoming prompts here ({plan.timezone.key}; cron {' | '.join(plan.crons)})."
        listed = ", ".join(local_time(t, plan.timezone) for t in times)
        paused = await self.scheduler.service.paused(plan.platform, plan.channel)
        head = "Paused (nothing is posted until /prompt resume); scheduled" if paused else "Next prompts"
        return f"{head} here ({plan.timezone.key}): {listed}."
