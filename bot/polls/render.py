"""A poll as a neutral Reply: the card (live tally, buttons) and the results post."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.events import Button, Reply
from bot.core.text import counted
from bot.polls.model import Poll, Tally

BAR_WIDTH = 10
VOTE = "poll:vote"
CLOSE = "poll:close"
UTC_ZONE = ZoneInfo("UTC")


def bar(percent: float) -> str:
    filled = round(percent / 100 * BAR_WIDTH)
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def tally_lines(poll: Poll, tally: Tally) -> list[str]:
    return [
        f"{option}: {tally.counts[i]} ({tally.percent(i):.0f}%) {bar(tally.percent(i))}"
        for i, option in enumerate(poll.options)
    ]


def at(moment: datetime, zone: ZoneInfo) -> str:
    """``03 Nov 11:00 CET``: a time as the channel reads it (its zone's abbreviation, or offset)."""
    local = moment.astimezone(zone)
    return f"{local:%d %b %H:%M} {local.tzname() or zone.key}"


def card(poll: Poll, tally: Tally, zone: ZoneInfo = UTC_ZONE) -> Reply:
    if poll.status == "cancelled":
        return cancelled_card(poll, zone)
    lines = [f"Poll: “{poll.claim}”"]
    if poll.section:
        source = f"From “{poll.section}”"
        lines.append(f"{source}: “{poll.passage}”" if poll.passage else source)
    lines.append("")
    voters = counted(tally.voters, "voter")
    if poll.is_open and poll.hide_results:
        lines += [f"• {o}" for o in poll.options]
        lines += ["", f"Results are hidden until the poll closes. {voters} so far."]
    else:
        lines += tally_lines(poll, tally)
        lines += ["", voters]
    kind = "anonymous" if poll.anonymous else "names visible to moderators"
    if poll.is_open:
        lines.append(f"{kind} · closes {at(poll.closes_at, zone)}")
        buttons = tuple(Button(o, VOTE, f"{poll.id}:{i}") for i, o in enumerate(poll.options))
        buttons += (Button("Close poll", CLOSE, poll.id, style="danger"),)
    else:
        closed = poll.closed_at or poll.closes_at
        lines.append(f"{kind} · closed {at(closed, zone)}")
        buttons = ()
    return Reply("\n".join(lines), buttons=buttons)


def cancelled_card(poll: Poll, zone: ZoneInfo = UTC_ZONE) -> Reply:
    """The card of a cancelled poll: the claim, and that it was cancelled; no tally, no buttons."""
    when = at(poll.closed_at or poll.closes_at, zone)
    return Reply(f"Poll: “{poll.claim}”\n\nThis poll was cancelled by a moderator ({when}); no results are posted.")


def shift_line(poll: Poll, tally: Tally, before: Poll, before_tally: Tally) -> str:
    """ "Agree +12 points since 3 Nov" for the options both polls share."""
    changes = []
    for i, option in enumerate(poll.options):
        if option in before.options and tally.voters and before_tally.voters:
            j = before.options.index(option)
            delta = round(tally.percent(i) - before_tally.percent(j))
            if delta:
                changes.append(f"{option} {delta:+d} points")
    since = f"{before.created_at.day} {before.created_at:%b}"
    return "; ".join(f"{c} since {since}" for c in changes) if changes else f"No change since {since}."


def results(poll: Poll, tally: Tally, chart_png: bytes, shift: str = "") -> Reply:
    lines = [
        f"Results: “{poll.claim}”",
        *tally_lines(poll, tally),
        counted(tally.voters, "voter"),
    ]
    if shift:
        lines.append(shift)
    return Reply("\n".join(lines), image=chart_png, image_name=f"poll-{poll.id}.png")
