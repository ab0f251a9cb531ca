"""The bank of claims for /poll (prompts/claims.yaml)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.core.banks import load_entries
from bot.core.commands import MAX_SUGGESTIONS, SUGGESTION_VALUE_LIMIT
from bot.paths import shipped

CLAIMS_PATH = shipped("prompts") / "claims.yaml"


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    section: str
    passage: str


def load_claims(path: Path | None = None) -> list[Claim]:
    """The shipped claims bank; a broken one is a ConfigError naming the file and the entry."""
    entries = load_entries(path or CLAIMS_PATH, "claims", ("id", "claim", "section", "passage"), "claim")
    return [Claim(c["id"], c["claim"], c["section"], c["passage"]) for c in entries]


def claims_upto(claims: Iterable[Claim], upto: int | None, section_order: Mapping[str, int]) -> list[Claim]:
    """The claims a group that has read up to section order ``upto`` may be polled on: those whose
    section (``section_order``: heading → order in the reading) is not past it; ``upto`` None: all.
    A claim of a section the reading does not have is left out when bounded."""
    if upto is None:
        return list(claims)
    return [c for c in claims if section_order.get(c.section, upto + 1) <= upto]


def find(claims: list[Claim], text: str) -> Claim | None:
    """The bank claim a moderator typed (by id, or the claim's exact words)."""
    wanted = " ".join(text.split()).lower()
    return next((c for c in claims if wanted in (c.id.lower(), c.claim.lower())), None)


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def claim_choices(claims: Iterable[Claim], typed: str, limit: int = MAX_SUGGESTIONS) -> list[tuple[str, str]]:
    """Bank claims matching ``typed`` as (claim, value) pairs, best first: the exact claim or id, then
    ids starting with it, then claims containing it as a phrase, then claims/ids containing every word.
    Nothing typed: the bank's first ``limit`` claims, in order. The value is the claim's words when they
    fit a suggestion's value (:data:`~bot.core.commands.SUGGESTION_VALUE_LIMIT`), else its id: the poll
    handler resolves either to the bank claim (section, passage, id)."""
    wanted = _normal(typed)
    words = wanted.split()
    ranked: list[tuple[int, int, Claim]] = []
    for order, claim in enumerate(claims):
        text, cid = _normal(claim.claim), claim.id.lower()
        if not wanted or wanted in (text, cid):
            rank = 0
        elif cid.startswith(wanted):
            rank = 1
        elif wanted in text or wanted in cid:
            rank = 2
        elif all(w in text or w in cid for w in words):
            rank = 3
        else:
            continue
        ranked.append((rank, order, claim))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [(c.claim, c.claim if len(c.claim) <= SUGGESTION_VALUE_LIMIT else c.id) for _, _, c in ranked[:limit]]
