"""The long-running front ends: the platform adapters (``readbot run``) and the console
(``readbot chat``). Both are :func:`bot.app.open_app` with their adapters, held open until
SIGTERM/SIGINT or the end of input."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from bot.adapters.console import ConsoleAdapter, lines_from
from bot.app import AdapterFactory, AdapterKit, open_app
from bot.core.adapter import ChatAdapter
from bot.core.events import User
from bot.ops import health as ops
from bot.ops.metrics import ErrorCounter, PrometheusMetrics
from bot.settings import Settings, slack_mode

log = logging.getLogger(__name__)


def adapter_factory(platform: str, extra_routes: ops.AddRoutes | None = None) -> AdapterFactory:
    def make(kit: AdapterKit) -> ChatAdapter:
        if platform == "slack":
            from bot.adapters.slack.adapter import SlackAdapter

            return SlackAdapter(
                kit.settings,
                kit.dispatcher,
                extra_routes=extra_routes,
                commands=kit.commands,
                suggested_prompts=kit.suggested_prompts,
            )
        from bot.adapters.discord.adapter import DiscordAdapter

        return DiscordAdapter(
            kit.settings,
            kit.dispatcher,
            commands=kit.commands,
            state=kit.state,
            message_content=kit.settings.discord_message_content,
        )

    return make


def configure_logging(settings: Settings) -> None:
    """READBOT_LOG_FORMAT (text|json), one line per event, secrets redacted (bot.ops.logs)."""
    from bot.ops import logs

    logs.configure(settings, sys.stderr)


def use_worker_pool() -> None:
    """Blocking work (embedding, Chroma, SQLite, LLM) runs in worker threads; more threads than
    cores only fight the event loop for the GIL (measured in benchmarks/bench_chat.py)."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="work")
    )


async def run_platforms(settings: Settings, platforms: list[str]) -> None:
    configure_logging(settings)
    metrics = PrometheusMetrics()
    logging.getLogger().addHandler(ErrorCounter(metrics))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # early: a SIGTERM during start-up still ends cleanly
        loop.add_signal_handler(sig, stop.set)
    use_worker_pool()
    health = ops.Health(platforms)
    # /healthz, /readyz, /metrics: on Slack's HTTP server when there is one (same port), else their own
    shared = "slack" in platforms and slack_mode(settings) == "http"
    routes = ops.routes(health, metrics, healthz_too=False) if shared else None
    server = None if shared else await ops.serve(health, metrics, settings.http_port)
    try:
        async with open_app(
            settings, adapters=[adapter_factory(p, routes) for p in platforms], metrics=metrics, health=health
        ):
            if not stop.is_set():
                await stop.wait()
            log.info("shutting down")
    finally:
        if server is not None:
            await server.cleanup()
        log.info("stopped")


async def run_console(settings: Settings, stdin: TextIO, out: TextIO) -> None:
    logging.basicConfig(level=logging.WARNING, force=True)
    interactive = stdin.isatty()
    if interactive:
        out.write("readbot chat: ask about the reading, or try /ask, /poll, /prompt. Ctrl-D quits.\n")

    def console(kit: AdapterKit) -> ChatAdapter:
        return ConsoleAdapter(
            kit.dispatcher, out, user=User("console-user", "you", is_admin=True), commands=kit.commands
        )

    def prompt() -> None:
        if interactive:
            out.write("you> ")
            out.flush()

    async with open_app(settings, adapters=[console]) as app:
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)
        async for line in lines_from(stdin, prompt):
            if line.strip():
                await adapter.handle_line(line)
