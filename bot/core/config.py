"""Checks shared by every ``readbot.toml`` table that names a channel (``[[schedule]]``,
``[[syllabus]]``, ``[insights]``): each mistake worded once, one line naming the entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

PLATFORMS = ("slack", "discord", "console")
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True)
class ChannelEntry:
    where: str  # how a later mistake names the entry: "readbot.toml schedule #2 (slack C1)"
    platform: str
    channel: str


def channel_entry(raw: Any, where: str, *, keys: Sequence[str], required: Sequence[str]) -> ChannelEntry:
    """A table's platform and channel, checked; ``keys`` (in the order they are explained) are all
    it may hold, ``required`` those it must."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table of {', '.join(keys)}")
    platform, channel = raw.get("platform"), raw.get("channel")
    if isinstance(platform, str) and isinstance(channel, str | int):
        where = f"{where} ({platform} {channel})"
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(sorted(keys))})")
    for key in required:
        if key not in raw:
            raise ConfigError(f"{where}: missing {key!r}")
    if not isinstance(platform, str) or platform.strip().lower() not in PLATFORMS:
        raise ConfigError(f"{where}: unknown platform {platform!r}: expected slack or discord")
    if isinstance(channel, int) and not isinstance(channel, bool):
        channel = str(channel)  # a Discord channel id written as a number
    if not isinstance(channel, str) or not channel.strip() or any(c.isspace() for c in channel.strip()):
        raise ConfigError(f"{where}: channel {channel!r} is not a channel id")
    return ChannelEntry(where, platform.strip().lower(), channel.strip())


def time_zone(name: object, where: str) -> ZoneInfo:
    """An IANA time zone named in an entry."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: timezone {name!r} is not an IANA time zone name such as Europe/Berlin")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigError(f"{where}: unknown timezone {name!r}: expected an IANA name such as Europe/Berlin") from None
