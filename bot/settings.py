"""Typed settings, read once from the environment and ``.env``, validated at start-up.

Every setting is documented in ``.env.example``. A bad value raises ConfigError with
one line naming the setting; the CLI prints it and exits 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import ConfigError
from bot.paths import shipped

SLACK_MODES = ("socket", "http")
PLATFORMS = ("slack", "discord")
DRAFTS = ("review", "approve")
DISCORD_TOKEN = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value}: expected a number from {lo} to {hi}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}={value}: expected a number from {lo:g} to {hi:g}")
    return value


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name, "").strip()
    return Path(raw).expanduser() if raw else default


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip()
    if raw and not raw.startswith(schemes):
        raise ConfigError(f"{name}={raw!r}: expected a URL starting with {' or '.join(schemes)}")
    return raw


def _shards(env: Mapping[str, str]) -> str:
    raw = env.get("DISCORD_SHARDS", "").strip().lower()
    if raw and raw != "auto" and not (raw.isdigit() and 1 <= int(raw) <= 1000):
        raise ConfigError(f"DISCORD_SHARDS={raw!r}: expected auto or a shard count from 1 to 1000")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _list(env: Mapping[str, str], name: str) -> frozenset[str]:
    raw = env.get(name, "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _ops_port(env: Mapping[str, str]) -> int | None:
    if not env.get("READBOT_OPS_PORT", "").strip():
        return None
    port = _int(env, "READBOT_OPS_PORT", 0, 1, 65535)
    if port == _int(env, "READBOT_HTTP_PORT", 3000, 1, 65535):
        raise ConfigError(f"READBOT_OPS_PORT={port}: must differ from READBOT_HTTP_PORT (unset it to share that port)")
    return port


def _host(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        ipaddress.IPv4Address(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected an IPv4 address such as 127.0.0.1 or 0.0.0.0") from None
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    knowledge_dir: Path = field(default_factory=lambda: shipped("knowledge"))
    embeddings: str = "bundled"
    llm: str = ""
    llm_timeout: float = 20.0
    log_level: str = "INFO"
    log_format: str = "text"
    moderators: frozenset[str] = frozenset()
    http_port: int = 3000
    ops_port: int | None = None  # /healthz, /readyz, /metrics apart from the public port
    ops_host: str = "127.0.0.1"
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_mode: str = ""
    slack_api_url: str = "https://slack.com/api/"
    discord_token: str = ""
    discord_api_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = ""
    discord_shards: str = ""  # "" (no sharding), "auto", or a shard count
    discord_message_content: bool = False  # the privileged intent: follow-ups in readbot's threads
    history_turns: int = 4
    history_hours: float = 24.0  # a thread's history expires this long after its last message
    database_url: str = ""
    chroma_url: str = ""
    poll_secret: str = ""
    config_path: Path = Path("readbot.toml")
    prompt_grace_minutes: int = 120
    max_reading_mb: int = 50
    timezone: str = "UTC"  # READBOT_TIMEZONE: times shown in a channel without a schedule in readbot.toml
    rate_user: int = 10  # questions per person per minute (0: no limit; moderators never limited)
    rate_channel: int = 60  # questions per channel per minute (0: no limit)
    drafts: str = "review"  # review (drafts wait for a moderator) | approve (approved as they are made)
    recap_after_prompt_hours: int = 0  # a prompt's thread recapped this long after it was posted (0: never)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")) -> Settings:
        """Settings from ``env`` (default: os.environ) over the values in ``dotenv``."""
        merged: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            from dotenv import dotenv_values

            merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        merged.update(os.environ if env is None else env)
        return cls._parse(merged)

    @classmethod
    def _parse(cls, env: Mapping[str, str]) -> Settings:
        log_level = env.get("READBOT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"READBOT_LOG_LEVEL={log_level!r}: expected DEBUG, INFO, WARNING or ERROR")
        log_format = env.get("READBOT_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in {"text", "json"}:
            raise ConfigError(f"READBOT_LOG_FORMAT={log_format!r}: expected text or json")
        embeddings = env.get("READBOT_EMBEDDINGS", "bundled").strip() or "bundled"
        if embeddings != "bundled" and not re.fullmatch(r"[\w.-]+:\S+", embeddings):
            raise ConfigError(f"READBOT_EMBEDDINGS={embeddings!r}: expected 'bundled' or provider:model")
        llm = env.get("READBOT_LLM", "").strip()
        if llm and not re.fullmatch(r"[\w.-]+:\S+", llm):
            raise ConfigError(f"READBOT_LLM={llm!r}: expected provider:model, e.g. openai:gpt-4o-mini")
        slack_mode = env.get("SLACK_MODE", "").strip().lower()
        if slack_mode and slack_mode not in SLACK_MODES:
            raise ConfigError(f"SLACK_MODE={slack_mode!r}: expected socket or http")
        knowledge_dir = _path(env, "READBOT_KNOWLEDGE_DIR", shipped("knowledge"))
        drafts = env.get("READBOT_DRAFTS", "review").strip().lower() or "review"
        if drafts not in DRAFTS:
            raise ConfigError(f"READBOT_DRAFTS={drafts!r}: expected review or approve")
        return cls(
            data_dir=_path(env, "READBOT_DATA_DIR", Path("data")),
            knowledge_dir=knowledge_dir,
            embeddings=embeddings,
            llm=llm,
            llm_timeout=_float(env, "READBOT_LLM_TIMEOUT", 20.0, 0.1, 600.0),
            log_level=log_level,
            log_format=log_format,
            moderators=_list(env, "READBOT_MODERATORS"),
            http_port=_int(env, "READBOT_HTTP_PORT", 3000, 1, 65535),
            ops_port=_ops_port(env),
            ops_host=_host(env, "READBOT_OPS_HOST", "127.0.0.1"),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            slack_mode=slack_mode,
            slack_api_url=env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/",
            discord_token=env.get("DISCORD_TOKEN", "").strip(),
            discord_api_url=env.get("DISCORD_API_URL", "").strip() or "https://discord.com/api/v10",
            discord_gateway_url=env.get("DISCORD_GATEWAY_URL", "").strip(),
            discord_shards=_shards(env),
            discord_message_content=_bool(env, "DISCORD_MESSAGE_CONTENT", False),
            history_turns=_int(env, "READBOT_HISTORY_TURNS", 4, 0, 20),
            history_hours=_float(env, "READBOT_HISTORY_HOURS", 24.0, 0.01, 24.0 * 365),
            database_url=env.get("READBOT_DATABASE_URL", "").strip(),
            chroma_url=_url(env, "READBOT_CHROMA_URL", ("http://", "https://")),
            poll_secret=env.get("READBOT_POLL_SECRET", "").strip(),
            config_path=_path(env, "READBOT_CONFIG", Path("readbot.toml")),
            prompt_grace_minutes=_int(env, "READBOT_PROMPT_GRACE_MINUTES", 120, 0, 7 * 24 * 60),
            max_reading_mb=_int(env, "READBOT_MAX_READING_MB", 50, 1, 1024),
            timezone=_timezone(env),
            rate_user=_int(env, "READBOT_RATE_USER", 10, 0, 10_000),
            rate_channel=_int(env, "READBOT_RATE_CHANNEL", 60, 0, 100_000),
            drafts=drafts,
            recap_after_prompt_hours=_int(env, "READBOT_RECAP_AFTER_PROMPT_HOURS", 0, 0, 24 * 14),
        )


def _timezone(env: Mapping[str, str]) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = env.get("READBOT_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"READBOT_TIMEZONE={name!r}: expected an IANA time zone name such as Europe/Berlin") from None
    return name


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
        chosen = [p for p, token in (("slack", settings.slack_bot_token), ("discord", settings.discord_token)) if token]
        if not chosen:
            raise ConfigError("no platform configured: set SLACK_BOT_TOKEN or DISCORD_TOKEN (or try `readbot chat`)")
    elif requested == "all":
        chosen = list(PLATFORMS)
    else:
        chosen = [requested]
    for platform in chosen:
        check_platform_settings(settings, platform)
    return chosen
