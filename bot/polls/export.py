"""`readbot polls list|export`: polls and votes for moderators, outside chat."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.errors import InputError
from bot.polls.service import PollService
from bot.store.outbox import owed

OWED = {
    "pending": "results pending (the platform hasn't taken them yet; still trying)  ",
    "failed": "results NOT delivered (gave up; see the log)  ",
}


async def list_polls(service: PollService) -> str:
    """One line a poll; a closed poll whose final card or results are still owed to the platform says so."""
    lines = []
    polls = await service.all()
    undelivered = await owed(service.db, [p.id for p in polls])
    for poll in polls:
        tally = await service.tally(poll)
        voters = f"{tally.voters:3d} voter{'s' if tally.voters != 1 else ' '}"
        lines.append(
            f"{poll.id}  {poll.status:9s}  {poll.platform}:{poll.channel_id}  "
            f"{poll.created_at:%Y-%m-%d %H:%M}  {voters}  {OWED.get(undelivered.get(poll.id, ''), '')}"
            f"{poll.claim}"
        )
    return "\n".join(lines) if lines else "No polls yet."


async def export(service: PollService, poll_id: str | None, fmt: str) -> str:
    polls = await service.all()
    if poll_id:
        polls = [p for p in polls if p.id == poll_id]
        if not polls:
            raise InputError(f"No poll has the id {poll_id!r}.")
    records: list[dict[str, Any]] = []
    for poll in polls:
        tally = await service.tally(poll)
        records.append(
            {
                "id": poll.id,
                "platform": poll.platform,
                "channel": poll.channel_id,
                "claim": poll.claim,
                "section": poll.section,
                "options": list(poll.options),
                "anonymous": poll.anonymous,
                "status": poll.status,
                "created_at": poll.created_at.isoformat(),
                "closes_at": poll.closes_at.isoformat(),
                "closed_at": poll.closed_at.isoformat() if poll.closed_at else None,
                "counts": dict(zip(poll.options, tally.counts, strict=True)),
                "voters": tally.voters,
                "votes": [
                    {
                        "voter": voter if not poll.anonymous else "anonymous",
                        "option": poll.options[option],
                        "voted_at": at.isoformat(),
                    }
                    for voter, option, at in await service.votes_of(poll)
                ],
            }
        )
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=2)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["poll_id", "platform", "channel", "claim", "status", "voter", "option", "voted_at"])
    for record in records:
        poll_cells = [record["id"], record["platform"], record["channel"], record["claim"], record["status"]]
        for vote in record["votes"]:
            writer.writerow([*poll_cells, vote["voter"], vote["option"], vote["voted_at"]])
        if not record["votes"]:  # a poll nobody voted in is still a poll that ran
            writer.writerow([*poll_cells, "", "", ""])
    return out.getvalue().rstrip("\n")
