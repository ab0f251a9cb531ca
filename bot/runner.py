"""The long-running front ends: the platform adapters (``readbot run``) and the console
(``readbot chat``). Both are :func:`bot.app.open_app` with their adapters, held open until
SIGTERM/SIGINT or the end of input."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TextIO

from bot.adapters.console import ConsoleAdapter, lines_from, terminal_lines
from bot.app import AdapterFactory, AdapterKit, open_app
from bot.core.adapter import ChatAdapter
from bot.core.events import User
from bot.core.metrics import NO_METRICS, Metrics
from bot.ops import health as ops
from bot.ops.metrics import ErrorCounter, PrometheusMetrics
from bot.settings import Settings, slack_mode

log = logging.getLogger(__name__)


def adapter_factory(
    platform: str, extra_routes: ops.AddRoutes | None = None, metrics: Metrics = NO_METRICS
) -> AdapterFactory:
    def make(kit: AdapterKit) -> ChatAdapter:
        if platform == "slack":
            from bot.adapters.slack.adapter import SlackAdapter

            return SlackAdapter(
                kit.settings,
                kit.dispatcher,
                extra_routes=extra_routes,
                commands=kit.commands,
                metrics=metrics,
                healthz=kit.settings.ops_port is None,  # apart: the public port serves /slack/events only
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
    # /healthz, /readyz, /metrics: on READBOT_OPS_PORT when set; else on Slack's HTTP server when there
    # is one (same port), else on their own server on READBOT_HTTP_PORT
    shared = settings.ops_port is None and "slack" in platforms and slack_mode(settings) == "http"
    routes = ops.routes(health, metrics, healthz_too=False) if shared else None
    server = None
    if settings.ops_port is not None:
        server = await ops.serve(health, metrics, settings.ops_port, settings.ops_host, setting="READBOT_OPS_PORT")
    elif not shared:
        server = await ops.serve(health, metrics, settings.http_port)
    try:
        async with open_app(
            settings,
            adapters=[adapter_factory(p, routes, metrics) for p in platforms],
            metrics=metrics,
            health=health,
        ):
            if not stop.is_set():
                await stop.wait()
            log.info("shutting down")
    finally:
        if server is not None:
            await server.cleanup()
        log.info("stopped")


CHAT_BANNER = "readbot chat: ask about the reading, or try /help, /ask, /poll, /prompt. Ctrl-D quits.\n"


async def run_console(
    settings: Settings, stdin: TextIO, out: TextIO, *, terminal: bool | None = None, **app_options: Any
) -> None:
    """``readbot chat``. On a terminal (``terminal``; default: whether ``stdin`` is one) lines are read
    with prompt_toolkit and whatever readbot prints meanwhile (a live card edit, a scheduled prompt, a
    log line) is drawn above the line being typed, which stays as it was. Otherwise (a script, a
    pipe) the transcript is plain text, one ``readbot> `` line per post. ``app_options`` go to
    :func:`open_app` (tests hand in their knowledge service and clock)."""
    interactive = stdin.isatty() if terminal is None else terminal
    if not interactive:
        logging.basicConfig(level=logging.WARNING, force=True)
        await _chat(settings, out, lines_from(stdin, lambda: None), app_options)
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.patch_stdout import patch_stdout

    with patch_stdout(raw=True):  # sys.stdout and sys.stderr now print above the prompt
        logging.basicConfig(level=logging.WARNING, force=True)  # its handler writes to the patched stderr
        sys.stdout.write(CHAT_BANNER)
        session: PromptSession[str] = PromptSession()
        await _chat(settings, sys.stdout, terminal_lines(session), app_options)


async def _chat(settings: Settings, out: TextIO, lines: AsyncIterator[str], app_options: dict[str, Any]) -> None:
    def console(kit: AdapterKit) -> ChatAdapter:
        return ConsoleAdapter(
            kit.dispatcher,
            out,
            user=User("console-user", "you", is_admin=True),
            commands=kit.commands,
            files_dir=settings.data_dir / "console",
        )

    async with open_app(settings, adapters=[console], **app_options) as app:
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)
        async for line in lines:
            if line.strip():
                await adapter.handle_line(line)


DEMO_CHANNEL = "readbot-demo"
NEXT_STEPS = """\
That was readbot's three jobs, on this machine, offline. Next:
  Talk to readbot yourself:  {exe} chat   (ask about the reading; /help lists the commands)
  Check the installation:    {exe} doctor
  Connect Slack:    create the app from deploy/slack-manifest.yaml, put SLACK_BOT_TOKEN and
                    SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode) in .env, then {exe} run
  Connect Discord:  create a bot at the Discord developer portal, put DISCORD_TOKEN in .env, then {exe} run
  Daily prompts are scheduled per channel in readbot.toml (see readbot.example.toml).
"""


async def run_demo(settings: Settings, question: str, out: TextIO, *, exe: str = "readbot", **app_options: Any) -> None:
    """``readbot demo`` (what ``make run`` shows): a scripted console session of the three jobs on
    the embedded default: a question answered with its citation, a discussion prompt posted, a poll
    voted on, its tally and its results chart (the file's path printed), then how to go on.

    It reads the real index (READBOT_DATA_DIR) but keeps its own database, history and files in
    ``DATA_DIR/demo`` (started afresh each time), so the demo's poll and prompt never show up in
    ``readbot polls list`` or take a question from a real channel."""
    import shutil

    from bot.knowledge.service import KnowledgeService, readable_question

    readable_question(question)  # a bad --question is one line, before anything is loaded
    logging.basicConfig(level=logging.WARNING, force=True)
    folder = settings.data_dir / "demo"
    await asyncio.to_thread(shutil.rmtree, folder, True)
    demo = dataclasses.replace(
        settings, data_dir=folder, database_url="", config_path=folder / "no-schedules.toml", poll_secret=""
    )
    async with contextlib.AsyncExitStack() as stack:
        knowledge = app_options.pop("knowledge", None)
        if knowledge is None:
            knowledge = await asyncio.to_thread(KnowledgeService.open, settings)  # the real index, read
            stack.callback(knowledge.close)
        await asyncio.to_thread(knowledge.ensure_ingested)

        def console(kit: AdapterKit) -> ChatAdapter:
            return ConsoleAdapter(
                kit.dispatcher,
                out,
                user=User("demo-moderator", "you", is_admin=True),
                channel=DEMO_CHANNEL,
                commands=kit.commands,
                files_dir=folder / "console",
            )

        app = await stack.enter_async_context(
            open_app(demo, adapters=[console], knowledge=knowledge, run_tasks=False, **app_options)
        )
        (adapter,) = app.adapters
        assert isinstance(adapter, ConsoleAdapter)

        async def say(line: str) -> None:
            out.write(f"you> {line}\n")
            out.flush()
            await adapter.handle_line(line)
            await app.polls.live.drain()  # a vote's card edit is printed before the next line

        out.write("readbot demo: a reading group's channel, in this terminal (nothing is posted anywhere)\n")
        out.write("\n1. A question about the reading: answered from it, with the section it comes from\n")
        await say(question)
        out.write("\n2. A discussion prompt (posted daily on the channel's schedule; a moderator can post one now)\n")
        await say("/prompt now")
        out.write("\n3. A poll on a claim from the reading: a vote, the live tally, then the results and chart\n")
        await say("/poll duration=30m")
        await say("click 2")
        await say("/poll close")
    out.write("\n" + NEXT_STEPS.format(exe=exe))
    out.flush()
