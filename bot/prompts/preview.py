"""``readbot prompts preview``: upcoming posts of every schedule, read-only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.core.text import counted
from bot.prompts.config import PromptConfig
from bot.prompts.render import local_time, utc_time
from bot.prompts.service import PromptService

MAX_LINES = 60  # per channel; a "* * * * *" schedule would otherwise print thousands


Context = Callable[[str, str, datetime], Awaitable[str | None]]


async def preview(
    service: PromptService, config: PromptConfig, now: datetime, days: int, *, context: Context | None = None
) -> str:
    """Each channel's slots in the next ``days`` days with their local and UTC times and the
    question each would post (as the bank stands now; nothing is used up). ``context(platform,
    channel, slot)``: what the channel will be reading then (its syllabus), shown with the slot."""
    plans = config.channels()
    if not plans and context is not None:
        return f"No prompt schedules in {config.path}."
    if not plans:
        if not config.path.exists():
            return f"No prompt schedules: {config.path} not found (see readbot.example.toml)."
        return f"No prompt schedules: {config.path} has no [[schedule]] entries."
    end = now + timedelta(days=days)
    out: list[str] = [f"Upcoming prompts from {utc_time(now)} to {utc_time(end)}:"]
    for plan in plans:
        out += ["", f"{plan.label} · {plan.timezone.key} · cron {' | '.join(plan.crons)}"]
        slots: list[datetime] = []
        for slot in plan.slots_after(now):
            if slot > end or len(slots) > MAX_LINES:
                break
            slots.append(slot)
        if await service.paused(plan.platform, plan.channel):
            out.append("  (paused: nothing is posted until a moderator runs /prompt resume)")
        if not slots:
            out.append(f"  nothing in the next {counted(days, 'day')}")
            continue
        shown = slots[:MAX_LINES]
        claims = await service.claims(plan.platform, plan.channel, now, shown[-1])
        posting = [s for s in shown if s not in claims]
        state = await service.state(plan.platform, plan.channel)
        cycle = state.cycle if state else 0
        questions = iter(await service.peek(plan.platform, plan.channel, len(posting)))
        for slot in shown:
            times = f"  {local_time(slot, plan.timezone):<22} {utc_time(slot):<22}"
            claim = claims.get(slot)
            if claim is not None:
                out.append(f"{times} skipped ({claim['status']} by {claim['claimed_by']})")
                continue
            question_cycle, question = next(questions)
            if question_cycle != cycle:
                cycle = question_cycle
                out.append(f"  -- cycle {cycle} of the bank starts{' (a new order)' if cycle > 1 else ''} --")
            reading = await context(plan.platform, plan.channel, slot) if context is not None else None
            out.append(f"{times} [{question.id}] {question.question}" + (f"  · reading {reading}" if reading else ""))
        if len(slots) > len(shown):
            out.append(f"  … and more until {local_time(end, plan.timezone)}")
    return "\n".join(out)
