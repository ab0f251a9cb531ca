"""Who may run moderator-only commands. Checked on our side for every action."""

from __future__ import annotations

from bot.core.events import User
from bot.errors import InputError


class NotAModerator(InputError):
    def __init__(self, what: str) -> None:
        super().__init__(f"Only moderators can {what}.")


def is_moderator(user: User, moderators: frozenset[str]) -> bool:
    """READBOT_MODERATORS, plus platform moderators (Slack admins and owners, Discord
    members with Manage Messages in the channel), which adapters report as is_admin."""
    return not user.is_bot and (user.id in moderators or user.is_admin)


def require_moderator(user: User, moderators: frozenset[str], what: str) -> None:
    if not is_moderator(user, moderators):
        raise NotAModerator(what)
