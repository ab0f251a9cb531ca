"""``GET /healthz`` (alive), ``GET /readyz`` (ready for traffic) and ``GET /metrics``.

Served by :func:`serve` on READBOT_OPS_PORT (READBOT_OPS_HOST, default 127.0.0.1) when that is set,
apart from the public Slack port; else mounted on Slack's aiohttp app when Slack runs in HTTP mode
(one port), else served by :func:`serve` on READBOT_HTTP_PORT.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.adapter import ChatAdapter
from bot.errors import ConfigError
from bot.ops.metrics import CONTENT_TYPE, PrometheusMetrics
from bot.store.db import Database
from bot.store.outbox import DurableOutbox
from bot.store.schema import bot_state

log = logging.getLogger(__name__)
T = TypeVar("T")
CHECK_TIMEOUT = 3.0  # seconds a probe waits for a readiness check before it counts as failed
# seconds a check's run may go on after its probe stopped waiting (a hung connection to PostgreSQL);
# above SQLite's busy_timeout (10 s), which ends a wait for another writer's lock by itself
RUN_LIMIT = 15.0
MIN_FREE_BYTES = 1024 * 1024  # a SQLite data dir with less room than this is full for readbot


class Health:
    """Readiness of one running process: index, database, every platform it runs.

    The composition root reports each part as it comes up (:meth:`index_ready`,
    :meth:`watch_database`, :meth:`watch_adapter`) and :meth:`stop` when shutdown starts; a platform
    expected but not started yet counts as not ready."""

    def __init__(self, platforms: Sequence[str] = ()) -> None:
        self.platforms = list(platforms)
        self._adapters: dict[str, ChatAdapter] = {}
        self._db: Database | None = None
        self._outbox: DurableOutbox | None = None
        self._probe_key = "readyz"  # one row every process writes (no row left behind per process)
        self._index_loaded = False
        self._stopping = False
        self._running: dict[str, asyncio.Future[Any]] = {}  # check name → its run still going

    def index_ready(self) -> None:
        self._index_loaded = True

    def watch_database(self, db: Database) -> None:
        self._db = db
        self._running.pop("database", None)  # a run still going probes the database watched before

    def watch_outbox(self, outbox: DurableOutbox) -> None:
        self._outbox = outbox

    async def outbox(self) -> dict[str, object] | None:
        """What readbot decided but could not tell a platform yet (details for /readyz, never a failure:
        the worker keeps trying)."""
        if self._outbox is None:
            return None
        try:
            backlog = await self._within("outbox", self._outbox.backlog)
        except Exception as exc:
            return {"state": f"unknown: {type(exc).__name__}"}
        oldest = round((datetime.now(UTC) - backlog.oldest).total_seconds(), 1) if backlog.oldest is not None else None
        return {"pending": backlog.pending, "failed": backlog.failed, "oldest_pending_seconds": oldest}

    def watch_adapter(self, adapter: ChatAdapter) -> None:
        self._adapters[adapter.platform] = adapter

    def stop(self) -> None:
        self._stopping = True
        for run in self._running.values():
            run.cancel()

    async def _within(self, name: str, start: Callable[[], Awaitable[T]]) -> T:
        """Check ``name``'s result, waited for at most ``CHECK_TIMEOUT`` (``TimeoutError`` after). One run
        of a check at a time: a run still going when a probe stops waiting goes on, and the next probe
        waits for it. A driver can't always be interrupted (SQLite waiting for another writer's lock
        finishes its wait whatever the caller does), so a probe never waits for one, and never stacks
        runs up behind it."""
        run: asyncio.Future[T] | None = self._running.get(name)
        if run is None or run.done():
            run = self._running[name] = asyncio.ensure_future(asyncio.wait_for(start(), RUN_LIMIT))
            run.add_done_callback(lambda done: done.cancelled() or done.exception())  # read when nobody waits
        return await asyncio.wait_for(asyncio.shield(run), CHECK_TIMEOUT)

    async def checks(self) -> dict[str, str]:
        """check name → "ok" or what is wrong. The checks run at once, so a probe is answered within
        about ``CHECK_TIMEOUT`` however many of them are stuck."""
        database, *platforms = await asyncio.gather(
            self._database(), *(self._platform(platform) for platform in self.platforms)
        )
        result = {"index": "ok" if self._index_loaded else "index not loaded yet", "database": database}
        result.update(zip(self.platforms, platforms, strict=True))
        if self._stopping:
            result["shutdown"] = "shutting down"
        return result

    async def _platform(self, platform: str) -> str:
        adapter = self._adapters.get(platform)
        if adapter is None:
            return "adapter not started"
        try:
            ok = await asyncio.wait_for(adapter.connected(), CHECK_TIMEOUT)
        except Exception as exc:
            return f"connection state unknown: {type(exc).__name__}"
        return "ok" if ok else "not connected"

    async def _database(self) -> str:
        db = self._db
        if db is None:
            return "database not open"
        try:
            return await self._within("database", lambda: self._probe_database(db))
        except TimeoutError:
            return f"database did not answer within {CHECK_TIMEOUT:g} s"

    async def _probe_database(self, db: Database) -> str:
        """The database answers and takes a write (a full disk or a read-only database fails here, where
        a bare SELECT 1 would still pass); a SQLite data dir out of room fails too."""
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return f"SELECT 1 failed: {type(exc).__name__}"
        folder = sqlite_folder(db.url)
        if folder is not None:
            try:
                free = shutil.disk_usage(folder).free
            except OSError as exc:
                return f"database folder unreadable: {type(exc).__name__}"
            if free < MIN_FREE_BYTES:
                return f"database disk full: {free // 1024} KiB free in {folder}"
        insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
        now = datetime.now(UTC)
        mark = f"{socket.gethostname()}:{os.getpid()}"
        probe = insert(bot_state).values(key=self._probe_key, value=mark, updated_at=now)
        probe = probe.on_conflict_do_update(index_elements=[bot_state.c.key], set_={"value": mark, "updated_at": now})
        try:
            async with db.engine.begin() as conn:
                await conn.execute(probe)
        except Exception as exc:
            return f"database write failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        return "ok"


def sqlite_folder(url: str) -> Path | None:
    """The folder of a SQLite database URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path).parent if path and path != ":memory:" else None


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


AddRoutes = Callable[[web.Application], None]


def routes(health: Health, metrics: PrometheusMetrics, *, healthz_too: bool) -> AddRoutes:
    """What adds the endpoints to another server's app (Slack's, in HTTP mode)."""
    return lambda app: add_routes(app, health, metrics, healthz_too=healthz_too)


def add_routes(app: web.Application, health: Health, metrics: PrometheusMetrics, *, healthz_too: bool) -> None:
    """``/readyz`` and ``/metrics`` (and ``/healthz`` unless the app already has it)."""

    async def readyz(_: web.Request) -> web.Response:
        checks, outbox = await asyncio.gather(health.checks(), health.outbox())
        failed = [name for name, state in checks.items() if state != "ok"]
        body: dict[str, object] = {"ready": not failed, "failed": failed, "checks": checks}
        if outbox is not None:
            body["outbox"] = outbox
        return web.Response(status=503 if failed else 200, text=json.dumps(body), content_type="application/json")

    async def metrics_page(request: web.Request) -> web.Response:  # OpenMetrics if Accept asks for it
        body, content_type = metrics.exposition(request.headers.get("Accept", CONTENT_TYPE))
        return web.Response(body=body, headers={"Content-Type": content_type})

    if healthz_too:
        app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)


async def serve(
    health: Health,
    metrics: PrometheusMetrics,
    port: int,
    host: str = "0.0.0.0",
    *,
    setting: str = "READBOT_HTTP_PORT",
) -> web.AppRunner:
    """The endpoints on their own server (READBOT_OPS_PORT, or READBOT_HTTP_PORT when Slack's HTTP
    server isn't running); port 0 picks one. ``setting`` is named if the port can't be had."""
    app = web.Application()
    add_routes(app, health, metrics, healthz_too=True)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"{setting}={port}: can't listen on {host}:{port} ({exc.strerror or exc})") from None
    log.info("health and metrics on http://%s:%d (/healthz, /readyz, /metrics)", host, port_of(runner))
    return runner


def port_of(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])
