"""``/poll``, declared once for every platform: Discord shows these options (with suggestions from
the claims bank); Slack and the console take the same settings as text
(``/poll <claim> | <option> | <option> duration=90m``, ``/poll close``, ``/poll cancel [ID]``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.commands import CommandSpec, OptionSpec
from bot.polls.claims import Claim, claim_choices

ON_OFF = ("on", "off")


def commands(claims: Sequence[Claim]) -> tuple[CommandSpec, ...]:
    return (poll_command(claims),)


def poll_command(claims: Sequence[Claim]) -> CommandSpec:
    bank = list(claims)
    return CommandSpec(
        name="poll",
        description="Start a poll on a claim (moderators), or close or cancel the latest open poll here",
        options=(
            OptionSpec(
                "claim",
                "The claim to vote on: pick one from the reading or write your own (default: the next one)",
                suggest=lambda typed: claim_choices(bank, typed),
            ),
            OptionSpec(
                "options",
                "Answers separated by | (2 to 5), e.g. yes | no | unsure (default: Strongly agree … disagree)",
            ),
            OptionSpec("duration", "How long it runs: 30m, 2h or 3d (1 minute to 7 days; default 60m)"),
            OptionSpec("anonymous", "Keep voters anonymous (default: on)", choices=ON_OFF),
            OptionSpec("hidden", "Hide the results until the poll closes (default: off)", choices=ON_OFF),
            OptionSpec(
                "action",
                "start (default), close or cancel (no results) the newest open poll, or review drafted claims",
                choices=("start", "close", "cancel", "drafts"),
            ),
            OptionSpec("poll", "close or cancel: the poll's id (default: the newest open poll here)"),
        ),
        moderator_only=True,
        usage=(
            "[claim | option | option] [duration=60m] [anonymous=on|off] [hidden=on|off] | close | cancel [ID] | drafts"
        ),
    )
