"""Polls as values, and the rules for a valid poll."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.errors import InputError

SCALE = ("Strongly agree", "Agree", "Unsure", "Disagree", "Strongly disagree")
MAX_CLAIM_CHARS = 300
MAX_OPTION_CHARS = 60
MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=7)
DEFAULT_DURATION = timedelta(minutes=60)
DURATION = re.compile(r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PollSpec:
    """What a moderator asked for, validated."""

    claim: str
    options: tuple[str, ...] = SCALE
    duration: timedelta = DEFAULT_DURATION
    anonymous: bool = True
    hide_results: bool = False
    section: str = ""
    passage: str = ""
    claim_id: str | None = None


@dataclass(frozen=True)
class Poll:
    id: str
    platform: str
    channel_id: str
    thread_id: str | None
    message_id: str | None
    claim: str
    claim_id: str | None
    section: str
    passage: str
    options: tuple[str, ...]
    anonymous: bool
    hide_results: bool
    created_by: str
    created_at: datetime
    closes_at: datetime
    closed_at: datetime | None
    status: str

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class Tally:
    counts: tuple[int, ...]
    voters: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "voters", sum(self.counts))

    def percent(self, i: int) -> float:
        return 100.0 * self.counts[i] / self.voters if self.voters else 0.0


def claim_key(claim: str) -> str:
    """Claims compared over time ignore case, spacing and punctuation."""
    normal = " ".join(re.findall(r"\w+", claim.lower()))
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def parse_duration(raw: str) -> timedelta:
    match = DURATION.match(raw)
    if not match:
        raise InputError(f"I can't read the duration “{raw}”: use minutes (30), or 2h, or 3d.")
    amount, unit = int(match.group(1)), (match.group(2) or "m").lower()
    duration = (
        timedelta(days=amount)
        if unit.startswith("d")
        else timedelta(hours=amount)
        if unit.startswith("h")
        else timedelta(minutes=amount)
    )
    return check_duration(duration)


def check_duration(duration: timedelta) -> timedelta:
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise InputError("A poll runs from 1 minute to 7 days.")
    return duration


def check_claim(claim: str) -> str:
    claim = " ".join(claim.split())
    if not claim:
        raise InputError("The poll needs a claim to vote on.")
    if len(claim) > MAX_CLAIM_CHARS:
        raise InputError(f"That claim is {len(claim)} characters; keep it to {MAX_CLAIM_CHARS}.")
    return claim


def check_options(options: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    cleaned = tuple(" ".join(o.split()) for o in options)
    if any(not o for o in cleaned):
        raise InputError("Poll options can't be empty.")
    if not 2 <= len(cleaned) <= 5:
        raise InputError(f"A poll has 2 to 5 options; you gave {len(cleaned)}.")
    if len({o.lower() for o in cleaned}) != len(cleaned):
        raise InputError("Each poll option must be different.")
    if any(len(o) > MAX_OPTION_CHARS for o in cleaned):
        raise InputError(f"Keep each option to {MAX_OPTION_CHARS} characters.")
    return cleaned


def parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise InputError(f"{name} is on or off, not “{raw}”.")
