"""Long-running front ends: the platform adapters (`readbot run`) and the console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from bot.adapters.console import ConsoleAdapter, lines_from
from bot.app import build_core
from bot.core.dispatcher import Dispatcher
from bot.core.events import User
from bot.settings import Settings

log = logging.getLogger(__name__)


def make_adapter(platform: str, settings: Settings, dispatcher: Dispatcher) -> Any:
    if platform == "slack":
        from bot.adapters.slack.adapter import SlackAdapter

        return SlackAdapter(settings, dispatcher)
    from bot.adapters.discord.adapter import DiscordAdapter
    from bot.adapters.discord.autocomplete import claims_autocomplete
    from bot.polls.claims import load_claims

    return DiscordAdapter(settings, dispatcher, autocomplete=claims_autocomplete(load_claims()))


def configure_logging(settings: Settings) -> None:
    """READBOT_LOG_FORMAT (text|json), one line per event, secrets redacted (bot.ops.logs)."""
    from bot.ops import logs

    logs.configure(settings, sys.stderr)


async def run_platforms(settings: Settings, platforms: list[str]) -> None:
    configure_logging(settings)
    from bot.app import slack_mode
    from bot.ops import health as ops
    from bot.ops.metrics import ErrorCounter, PrometheusMetrics
    from bot.ops.wiring import instrument

    metrics = PrometheusMetrics()
    logging.getLogger().addHandler(ErrorCounter(metrics))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # early: a SIGTERM during start-up still ends cleanly
        loop.add_signal_handler(sig, stop.set)
    # Blocking work (embedding, Chroma, SQLite, LLM) runs in worker threads; more threads than
    # cores only fight the event loop for the GIL (measured in benchmarks/bench_chat.py).
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="work"))
    core = build_core(settings)
    health = ops.Health(core, platforms)
    # /healthz, /readyz, /metrics: on Slack's HTTP server when there is one (same port), else their own
    shared = "slack" in platforms and slack_mode(settings) == "http"
    server = None if shared else await ops.serve(health, metrics, settings.http_port)
    if shared:
        from bot.adapters.slack.transport import EXTRA_ROUTES

        EXTRA_ROUTES.set(lambda app: ops.add_routes(app, health, metrics, healthz_too=False))
    try:
        await asyncio.to_thread(core.knowledge.warm)  # model + index ready before traffic
        health.index_loaded = True
        await core.open()
    except BaseException:
        if server is not None:
            await server.cleanup()
        raise
    instrument(core, metrics)
    adapters = [make_adapter(p, settings, core.dispatcher) for p in platforms]
    for adapter in adapters:
        core.outbox.register(adapter)
    background: list[asyncio.Task[None]] = []
    try:
        for adapter in adapters:
            if stop.is_set():
                break
            await adapter.start()
            health.adapters[adapter.platform] = adapter
            log.info("%s adapter started", adapter.platform)
        assert core.polls is not None
        background.append(asyncio.create_task(core.polls.watch_deadlines(), name="poll-deadlines"))
        assert core.prompts is not None  # only schedules of platforms registered above run
        background.append(asyncio.create_task(core.prompts.run(), name="prompt-scheduler"))
        await stop.wait()
        log.info("shutting down")
    finally:
        health.stopping = True  # /readyz says 503 from now on
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)  # a prompt being posted is recorded first
        for adapter in reversed(adapters):
            try:
                await asyncio.wait_for(adapter.stop(), timeout=15)
            except Exception:
                log.exception("%s adapter did not stop cleanly", adapter.platform)
        await core.aclose()
        if server is not None:
            await server.cleanup()
        log.info("stopped")


async def run_console(settings: Settings, stdin: TextIO, out: TextIO) -> None:
    logging.basicConfig(level=logging.WARNING, force=True)
    core = build_core(settings)
    interactive = stdin.isatty()
    if interactive:
        out.write("readbot chat: ask about the reading, or try /ask, /poll, /prompt. Ctrl-D quits.\n")
    await asyncio.to_thread(core.knowledge.warm)
    await core.open()
    adapter = ConsoleAdapter(core.dispatcher, out, user=User("console-user", "you", is_admin=True))
    core.outbox.register(adapter)
    assert core.prompts is not None  # schedules with platform = "console" post here
    scheduler = asyncio.create_task(core.prompts.run(), name="prompt-scheduler")

    def prompt() -> None:
        if interactive:
            out.write("you> ")
            out.flush()

    try:
        async for line in lines_from(stdin, prompt):
            if line.strip():
                await adapter.handle_line(line)
    finally:
        scheduler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scheduler
        await core.aclose()
