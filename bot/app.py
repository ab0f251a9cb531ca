"""Composition of the core: services → handlers → dispatcher. Used by every front end."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from bot.clock import Clock, SystemClock
from bot.core.dispatcher import Dispatcher
from bot.core.handlers import AskHandler
from bot.core.outbox import Outbox
from bot.core.poll_handlers import PollHandler
from bot.core.prompt_handlers import PromptHandler
from bot.errors import ConfigError
from bot.knowledge.service import KnowledgeService
from bot.polls.claims import load_claims
from bot.polls.runtime import PollRuntime
from bot.polls.service import PollService
from bot.prompts.bank import load_questions
from bot.prompts.config import load_config
from bot.prompts.scheduler import PromptScheduler
from bot.prompts.service import PromptService
from bot.settings import Settings
from bot.store.db import Database, database_url
from bot.store.events import EventLog
from bot.store.history import ThreadHistory

PLATFORMS = ("slack", "discord")
DISCORD_TOKEN = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")


@dataclass
class Core:
    settings: Settings
    knowledge: KnowledgeService
    history: ThreadHistory
    dispatcher: Dispatcher
    outbox: Outbox = field(default_factory=Outbox)
    clock: Clock = field(default_factory=SystemClock)
    db: Database | None = None
    polls: PollRuntime | None = None
    prompts: PromptScheduler | None = None

    async def open(self) -> None:
        """Open the database (migrating it) and the features that need it: polls, prompts."""
        if self.db is not None:
            return
        config = load_config(self.settings.config_path)  # a bad readbot.toml stops start-up here
        self.db = await Database.open(database_url(self.settings.database_url, self.settings.data_dir))
        self.dispatcher.share_seen_events(EventLog(self.db, self.clock).claim)
        service = PollService(self.db, poll_secret(self.settings))
        self.polls = PollRuntime(service, self.outbox, self.clock, load_claims())
        handler = PollHandler(self.polls, self.settings.moderators)
        self.dispatcher.command("poll", handler.command)
        self.dispatcher.button("poll", handler.button)
        self.dispatcher.form("poll", handler.form)
        self.prompts = PromptScheduler(PromptService(self.db, load_questions()), self.outbox, self.clock,
                                       config.channels(), grace=timedelta(minutes=self.settings.prompt_grace_minutes))
        self.dispatcher.command("prompt", PromptHandler(self.prompts, self.settings.moderators).command)

    async def aclose(self) -> None:
        if self.polls is not None:
            await self.polls.live.drain()
        if self.db is not None:
            await self.db.close()
        self.close()

    def close(self) -> None:
        self.history.close()
        self.knowledge.close()


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


def build_core(settings: Settings, knowledge: KnowledgeService | None = None) -> Core:
    knowledge = knowledge or KnowledgeService.open(settings)
    history = ThreadHistory(settings.data_dir / "readbot.db", keep=settings.history_turns)
    dispatcher = Dispatcher()
    ask = AskHandler(knowledge, history)
    dispatcher.on_message(ask)
    dispatcher.command("ask", ask)
    return Core(settings, knowledge, history, dispatcher)


def slack_mode(settings: Settings) -> str:
    return settings.slack_mode or ("socket" if settings.slack_app_token else "http")


def check_platform_settings(settings: Settings, platform: str) -> None:
    """Stop start-up with one line naming the setting a requested platform lacks."""
    if platform == "slack":
        if not settings.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set (needed for Slack)")
        if not settings.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
        mode = slack_mode(settings)
        if mode == "socket":
            if not settings.slack_app_token:
                raise ConfigError("SLACK_APP_TOKEN is not set (needed for Slack Socket Mode)")
            if not settings.slack_app_token.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-")
        elif not settings.slack_signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is not set (needed for Slack HTTP mode)")
        if not re.match(r"^https?://", settings.slack_api_url):
            raise ConfigError("SLACK_API_URL is malformed: expected an http(s) URL")
    elif platform == "discord":
        if not settings.discord_token:
            raise ConfigError("DISCORD_TOKEN is not set (needed for Discord)")
        if not DISCORD_TOKEN.match(settings.discord_token):
            raise ConfigError("DISCORD_TOKEN is malformed: expected a bot token (three dot-separated parts)")
        if not re.match(r"^https?://", settings.discord_api_url):
            raise ConfigError("DISCORD_API_URL is malformed: expected an http(s) URL")
        if settings.discord_gateway_url and not re.match(r"^wss?://", settings.discord_gateway_url):
            raise ConfigError("DISCORD_GATEWAY_URL is malformed: expected a ws(s) URL")
    else:
        raise ConfigError(f"unknown platform {platform!r}: expected slack, discord or all")


def platforms_to_run(settings: Settings, requested: str | None) -> list[str]:
    """--platform slack|discord|all; by default every platform whose token is set."""
    if requested in (None, ""):
        chosen = [p for p, token in (("slack", settings.slack_bot_token),
                                     ("discord", settings.discord_token)) if token]
        if not chosen:
            raise ConfigError("no platform configured: set SLACK_BOT_TOKEN or DISCORD_TOKEN "
                              "(or try `readbot chat`)")
    elif requested == "all":
        chosen = list(PLATFORMS)
    else:
        chosen = [requested]
    for platform in chosen:
        check_platform_settings(settings, platform)
    return chosen
