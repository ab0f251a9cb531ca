"""The composition root: one async context manager opens everything, in order, and closes it in
reverse.

``open_app(settings, adapters=[...])`` opens, each once and passed down at construction:

1. the prompt schedules (a bad ``readbot.toml`` stops start-up here, before anything is opened);
2. the database (migrated), and the readings' version as it is before the index is read;
3. the knowledge service (model and index warmed in a worker thread, unless one is handed in), the
   thread history;
4. the features, each built by its package's ``feature.build`` from those services;
5. the dispatcher, its routes and middleware fixed from the features;
6. the adapters, built from an :class:`AdapterKit` (dispatcher, command declarations, state), registered
   in the outbox and started;
7. every feature's background tasks (poll deadlines, the prompt scheduler), for every front end,
   the console included.

On exit (or SIGTERM, which the runner turns into leaving the block) it stops the tasks, the adapters
(letting answers in flight finish), drains the features' work, and closes the history, database and
knowledge service it opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.ask import commands as ask_commands
from bot.ask import feature as ask_feature
from bot.ask import feedback as feedback_feature
from bot.ask.answers import AnswerLog, Limits
from bot.ask.record import AnswerRecorder
from bot.ask.suggestions import ReadingSuggestions
from bot.ask.weekly import WeeklyPoster, load_weekly
from bot.clock import Clock, SystemClock
from bot.core.adapter import ChatAdapter, State
from bot.core.commands import CommandSpec
from bot.core.dispatcher import Dispatcher, default_middleware
from bot.core.feature import Feature, Routes, bind
from bot.core.help import APP_COMMAND, HELP, HelpHandler
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.outbox import Outbox
from bot.knowledge.service import KnowledgeService
from bot.knowledge.support import best_support
from bot.ops.health import Health
from bot.polls import commands as polls_commands
from bot.polls import feature as polls_feature
from bot.polls.claims import Claim, load_claims
from bot.polls.runtime import PollRuntime
from bot.polls.service import PollService
from bot.prompts import commands as prompts_commands
from bot.prompts import feature as prompts_feature
from bot.prompts.bank import Question, load_questions
from bot.prompts.config import ChannelPlan, load_config
from bot.prompts.scheduler import PromptScheduler
from bot.prompts.service import PromptService
from bot.readings import commands as readings_commands
from bot.readings import feature as readings_feature
from bot.readings.drafts import Drafts
from bot.readings.feature import Watcher
from bot.readings.pacing import SyllabusRunner
from bot.readings.service import ReadingService
from bot.readings.store import ReadingStore
from bot.readings.syllabus import check_readings, load_syllabus
from bot.recap import commands as recap_commands
from bot.recap import feature as recap_feature
from bot.review.banks import Banks, Entry
from bot.review.checks import CHECKS
from bot.review.desk import Kind, ReviewDesk
from bot.review.queue import ReviewQueue
from bot.settings import Settings
from bot.store.db import Database, database_url, is_outage
from bot.store.events import EventLog
from bot.store.history import ThreadHistory
from bot.store.outbox import DurableOutbox
from bot.store.state import BotState
from bot.store.threads import BotThreads

log = logging.getLogger(__name__)

ADAPTER_STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class AdapterKit:
    """What an adapter is built from."""

    settings: Settings
    dispatcher: Dispatcher
    commands: tuple[CommandSpec, ...]
    state: State
    suggested_prompts: Callable[[], list[str]] = list  # questions an assistant panel offers (Slack)


AdapterFactory = Callable[[AdapterKit], ChatAdapter]


@dataclass(frozen=True)
class App:
    """Everything readbot runs on, fully built."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    knowledge: KnowledgeService
    db: Database
    history: ThreadHistory
    outbox: Outbox
    deliveries: DurableOutbox
    features: tuple[Feature, ...]
    dispatcher: Dispatcher
    polls: PollRuntime
    prompts: PromptScheduler
    readings: ReadingService
    readings_watcher: Watcher
    adapters: tuple[ChatAdapter, ...]
    tasks: tuple[asyncio.Task[None], ...]
    syllabus: SyllabusRunner | None = None  # the channels' [[syllabus]] (its task moves them on)
    review: ReviewDesk | None = None  # the review queue's desk (drafted questions and claims)


def command_specs() -> tuple[CommandSpec, ...]:
    """Every slash command the features declare, in order (what Slack's manifest must list)."""
    return (
        *ask_commands.COMMANDS,
        *feedback_feature.COMMANDS,
        *polls_commands.commands(load_claims()),
        *prompts_commands.COMMANDS,
        *readings_commands.commands(lambda typed: []),
        *recap_commands.COMMANDS,
        HELP,
    )


def help_feature(specs: Callable[[], Sequence[CommandSpec]], moderators: frozenset[str]) -> Feature:
    """/help (and the answer to an unknown command or a message "help"), from every declaration;
    on Slack it is typed /readbot help (its manifest's name for it)."""
    helper = HelpHandler(specs, moderators, {"slack": {HELP.name: f"{APP_COMMAND} {HELP.name}"}})
    return Feature("help", commands=bind((HELP,), {HELP.name: helper}), help=helper)


def reading_service(
    settings: Settings, store: ReadingStore, knowledge: KnowledgeService, clock: Clock, queue: ReviewQueue | None = None
) -> ReadingService:
    drafts = None
    if queue is not None:  # each added reading's questions and claims drafted (by the LLM, if one is set)
        model = knowledge.llm.model if knowledge.llm is not None else None
        drafts = Drafts(queue, clock, model=model, timeout=settings.llm_timeout, approve=settings.drafts == "approve")
    return ReadingService(
        store,
        knowledge,
        clock,
        folder=settings.data_dir / "readings",
        max_bytes=settings.max_reading_mb * 1024 * 1024,
        drafts=drafts,
    )


# ----- the review queue and the banks each channel's reading gives prompts and polls (issue 13)

CURATED_READING = "dwarkesh-107-ilya-sutskever"  # the shipped reading: prompts/discussion.yaml, prompts/claims.yaml
KINDS = {
    "prompt": Kind("prompt", "discussion question", "/prompt drafts", CHECKS["prompt"], "/prompt now and the schedule"),
    "claim": Kind("claim", "claim", "/poll drafts", CHECKS["claim"], "/poll"),
}


def banks_for(queue: ReviewQueue, store: ReadingStore, knowledge: KnowledgeService) -> Banks:
    def sections(reading: str) -> tuple[str, ...]:
        return knowledge.reading_sections().get(reading, ("", ()))[1]

    async def indexed() -> list[str]:
        return await asyncio.to_thread(knowledge.readings)

    async def sections_of(reading: str) -> tuple[str, ...]:
        return await asyncio.to_thread(sections, reading)

    curated = {
        "prompt": [Entry(q.id, q.question, q.section, q.passage) for q in load_questions()],
        "claim": [Entry(c.id, c.claim, c.section, c.passage) for c in load_claims()],
    }
    return Banks(
        queue, store.current, curated_reading=CURATED_READING, curated=curated, indexed=indexed, sections_of=sections_of
    )


def bank_sources(
    banks: Banks, knowledge: KnowledgeService, progress: Callable[[str, str], Awaitable[int | None]] | None = None
) -> tuple[Any, Any, Any]:
    """What prompts and polls draw from: the channel's reading's approved questions and claims (none
    without a reading), and the passage supporting a moderator's own claim. ``progress(platform,
    channel)``: how far the channel has read (spoiler-safe: nothing drawn from, or quoted, past it)."""

    async def bound(platform: str, channel: str, upto: int | None) -> int | None:
        if upto is None and progress is not None:
            return await progress(platform, channel)
        return upto

    async def questions(platform: str, channel: str, upto: int | None) -> list[Question] | None:
        upto = await bound(platform, channel, upto)
        reading, entries = await banks.for_channel("prompt", platform, channel, upto=upto)
        if reading == banks.curated_reading and upto is None:
            return None  # the shipped bank, as the prompts feature holds it
        return [Question(e.id, e.text, e.section, e.passage) for e in entries]

    async def claims(platform: str, channel: str, upto: int | None) -> list[Claim] | None:
        upto = await bound(platform, channel, upto)
        reading, entries = await banks.for_channel("claim", platform, channel, upto=upto)
        if reading == banks.curated_reading and upto is None:
            return None
        return [Claim(e.id, e.text, e.section, e.passage) for e in entries]

    async def support(claim: str, platform: str, channel: str) -> tuple[str, str] | None:
        reading = await banks.reading_of(platform, channel)
        upto = await bound(platform, channel, None) if reading is not None else None
        found = await asyncio.to_thread(best_support, knowledge, claim, reading=reading, upto=upto)
        return (found.section, found.passage) if found else None

    return questions, claims, support


@contextlib.asynccontextmanager
async def open_readings(settings: Settings) -> AsyncIterator[ReadingService]:
    """The readings alone (the CLI): the database and the knowledge service, no features, no adapters."""
    async with contextlib.AsyncExitStack() as stack:
        knowledge = await asyncio.to_thread(KnowledgeService.open, settings)
        stack.callback(knowledge.close)
        await asyncio.to_thread(knowledge.ensure_ingested)
        db = await Database.open(database_url(settings.database_url, settings.data_dir))
        stack.push_async_callback(db.close)
        yield reading_service(settings, ReadingStore(db), knowledge, SystemClock(), ReviewQueue(db))


@contextlib.asynccontextmanager
async def open_answers(settings: Settings) -> AsyncIterator[AnswerLog]:
    """The answers kept for feedback and insights alone (the CLI): the database, nothing else."""
    db = await Database.open(database_url(settings.database_url, settings.data_dir))
    try:
        yield AnswerLog(db, poll_secret(settings))
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def open_app(
    settings: Settings,
    *,
    adapters: Sequence[AdapterFactory] = (),
    knowledge: KnowledgeService | None = None,
    clock: Clock | None = None,
    metrics: Metrics = NO_METRICS,
    health: Health | None = None,
    extra_features: Sequence[Feature] = (),
    run_tasks: bool = True,
) -> AsyncIterator[App]:
    """``knowledge`` handed in is used as it is and left open (tests share one); ``extra_features``
    join the built-in ones (tests add commands of their own); ``run_tasks=False`` leaves the
    background tasks to the caller (tests drive them on a ManualClock)."""
    clock = clock or SystemClock()
    health = health or Health()
    config = load_config(settings.config_path)  # a bad readbot.toml stops start-up here
    syllabi = load_syllabus(settings.config_path)  # ... its [[syllabus]] too (the readings are checked below)
    weekly_report = load_weekly(settings.config_path)  # ... and so does a bad [insights] table
    async with contextlib.AsyncExitStack() as stack:
        db = await Database.open(database_url(settings.database_url, settings.data_dir))
        stack.push_async_callback(db.close)
        health.watch_database(db)
        reading_store = ReadingStore(db)
        readings_seen = await reading_store.version()  # before the index is read: a change after it shows
        if knowledge is None:
            knowledge = await asyncio.to_thread(KnowledgeService.open, settings)
            stack.callback(knowledge.close)
        await asyncio.to_thread(knowledge.warm)  # model and index ready before traffic
        health.index_ready()
        history = ThreadHistory(
            settings.data_dir / "readbot.db", keep=settings.history_turns, ttl_hours=settings.history_hours
        )
        stack.callback(history.close)

        suggestions = ReadingSuggestions(knowledge, [(q.question, q.section) for q in load_questions()])
        await asyncio.to_thread(suggestions.refresh)
        outbox = Outbox()
        threads = BotThreads(db, clock.now)
        outbox.on_sent(threads.record_post)  # a prompt's thread: members' questions there need no mention
        deliveries = DurableOutbox(db, outbox, clock, metrics=metrics)  # what must reach a platform, stored
        health.watch_outbox(deliveries)
        queue = ReviewQueue(db)
        readings = reading_service(settings, reading_store, knowledge, clock, queue)
        syllabus = SyllabusRunner(readings, clock, syllabi, BotState(db))
        if syllabi:  # an unknown reading or overlapping dates stop start-up, before any adapter starts
            check_readings(syllabi, await syllabus.section_counts_of_all(), settings.config_path)
        banks = banks_for(queue, reading_store, knowledge)
        desk = ReviewDesk(queue, banks, clock, settings.moderators, KINDS)
        reading_questions, reading_claims, support = bank_sources(banks, knowledge, readings.progress)
        watcher, readings_part = readings_feature.build(
            readings, outbox, clock, moderators=settings.moderators, seen=readings_seen, syllabus=syllabus
        )
        polls, polls_part = polls_feature.build(
            PollService(db, poll_secret(settings)),
            outbox,
            clock,
            load_claims(),
            moderators=settings.moderators,
            metrics=metrics,
            zone_of=channel_zones(config.channels(), settings.timezone),
            claims_for=reading_claims,
            support=support,
            desk=desk,
            deliveries=deliveries,
        )
        prompts, prompts_part = prompts_feature.build(
            PromptService(db, load_questions(), reading_bank=reading_questions),
            outbox,
            clock,
            config.channels(),
            grace=timedelta(minutes=settings.prompt_grace_minutes),
            moderators=settings.moderators,
            metrics=metrics,
            desk=desk,
            deliveries=deliveries,
        )
        answers = AnswerLog(db, poll_secret(settings))
        recorder = AnswerRecorder(
            answers,
            clock,
            limits=Limits(settings.rate_user, settings.rate_channel),
            moderators=settings.moderators,
            metrics=metrics,
        )
        features = (
            ask_feature.build(
                knowledge,
                history,
                metrics=metrics,
                current_reading=reading_store.current,
                progress=readings.progress,
                recorder=recorder,
                owe=deliveries.owe,
                threads=threads,
                suggestions=suggestions,
                clock=clock,
            ),
            feedback_feature.build(
                answers,
                clock,
                moderators=settings.moderators,
                metrics=metrics,
                weekly=WeeklyPoster(weekly_report, answers, outbox, clock, EventLog(db, clock))
                if weekly_report
                else None,
            ),
            polls_part,
            prompts_part,
            readings_part,
            Feature("review", buttons={"review": desk.button}, forms={"review": desk.form}),
            recap_feature.build(
                outbox,
                knowledge,
                current_reading=reading_store.current,
                threads=threads,
                clock=clock,
                after_prompt_hours=settings.recap_after_prompt_hours,
            ),
            *extra_features,
            help_feature(lambda: routes.specs, settings.moderators),
        )
        for part in features:
            if part.drain is not None:
                stack.push_async_callback(part.drain)
        routes = Routes.of(features)
        dispatcher = Dispatcher(
            routes,
            middleware=default_middleware(claim=EventLog(db, clock).claim, metrics=metrics, unavailable=is_outage),
        )

        kit = AdapterKit(settings, dispatcher, routes.specs, BotState(db), suggestions.prompts)
        started = []
        for make in adapters:
            adapter = make(kit)
            outbox.register(adapter)
            await adapter.start()
            stack.push_async_callback(_stop_adapter, adapter)
            health.watch_adapter(adapter)
            started.append(adapter)
            log.info("%s adapter started", adapter.platform)

        tasks = (
            (
                *(asyncio.create_task(t.run(), name=t.name) for part in features for t in part.tasks),
                asyncio.create_task(deliveries.run(), name="outbox"),
            )
            if run_tasks
            else ()
        )
        stack.push_async_callback(_cancel, tasks)
        stack.callback(health.stop)  # last in, first out: /readyz says 503 from the moment shutdown starts
        yield App(
            settings,
            clock,
            metrics,
            knowledge,
            db,
            history,
            outbox,
            deliveries,
            features,
            dispatcher,
            polls,
            prompts,
            readings,
            watcher,
            tuple(started),
            tasks,
            syllabus=syllabus,
            review=desk,
        )


async def _stop_adapter(adapter: ChatAdapter) -> None:
    try:
        await asyncio.wait_for(adapter.stop(), timeout=ADAPTER_STOP_TIMEOUT)
    except Exception:
        log.exception("%s adapter did not stop cleanly", adapter.platform)


async def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task, outcome in zip(tasks, await asyncio.gather(*tasks, return_exceptions=True), strict=True):
        if isinstance(outcome, Exception):
            log.error("background task %s had failed: %r", task.get_name(), outcome)


def channel_zones(plans: Sequence[ChannelPlan], default: str) -> Callable[[str, str], ZoneInfo]:
    """The time zone each channel reads times in: its schedule's in readbot.toml, else READBOT_TIMEZONE."""
    zones = {plan.key: plan.timezone for plan in plans}
    fallback = ZoneInfo(default)
    return lambda platform, channel: zones.get((platform, channel), fallback)


def poll_secret(settings: Settings) -> bytes:
    """READBOT_POLL_SECRET, or one generated once and kept in the data dir (set the
    setting when several replicas share a database)."""
    if settings.poll_secret:
        return settings.poll_secret.encode()
    path = settings.data_dir / "poll-secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
