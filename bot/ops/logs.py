"""Logging for ``readbot run``: one line per event, text or JSON, secrets never written.

:class:`Redactor` is a filter on the handler, so it sees every record that reaches it
(readbot's and every library's): the configured secret values and common token shapes
are replaced in the message, its arguments, the traceback and any extra fields.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

import pythonjsonlogger.json

from bot.settings import Settings

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter configured values would redact ordinary words; URL passwords are caught by shape
TOKEN_SHAPES = re.compile(
    r"\bxox[abposre]-[A-Za-z0-9-]+"  # Slack bot/user/... tokens
    r"|\bxapp-[A-Za-z0-9-]+"  # Slack app-level tokens
    r"|\b[A-Za-z0-9_-]{23,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}\b"  # Discord bot tokens
)
URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")
STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def database_password(url: str) -> str:
    if not url:
        return ""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password or ""
    except Exception:
        match = URL_PASSWORD.search(url)
        return match.group(0)[len(match.group(1)) : -1] if match else ""


def secrets_of(settings: Settings) -> list[str]:
    return [
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.discord_token,
        settings.poll_secret,
        database_password(settings.database_url),
    ]


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        text = TOKEN_SHAPES.sub(REDACTED, text)
        return URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: log what we can
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in STANDARD_FIELDS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``; a traceback stays on the same line (newlines escaped)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line (python-json-logger): time, level, logger, message, any extra
    fields, and exc / stack when the record has a traceback or stack."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            json_ensure_ascii=False,
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "exc_info": "exc",
                "stack_info": "stack",
            },
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        # the Redactor leaves the traceback redacted in exc_text; the library would format exc_info afresh
        exc_info = record.exc_info
        if record.exc_text:
            record.exc_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info = exc_info


def configure(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one that redacts and formats (returned)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(Redactor(secrets_of(settings)))
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # aiosqlite logs every statement at DEBUG from its worker threads (even after the database is
    # closed): noise in a DEBUG log, never a fact about readbot
    logging.getLogger("aiosqlite").setLevel(max(logging.getLevelName(settings.log_level), logging.INFO))
    return handler
