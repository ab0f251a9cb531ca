"""Autocomplete for ``/poll claim:`` from a claims bank, without importing the poll feature.

The adapter takes any ``autocomplete(command, option, typed) → [(name, value)]`` callable
(:data:`.commands.Autocomplete`); :func:`claims_autocomplete` builds one from objects with an ``id``
and a ``claim`` (the core's claims bank), so the wiring stays outside the adapter::

    DiscordAdapter(settings, dispatcher, autocomplete=claims_autocomplete(load_claims()))

A choice's value is the claim's words when they fit Discord's 100 characters, else its id: the poll
handler resolves either to the bank claim (section, passage, id).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from bot.adapters.discord.commands import MAX_CHOICE_VALUE, MAX_CHOICES, Autocomplete


class ClaimLike(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def claim(self) -> str: ...


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def claim_choices(claims: Iterable[ClaimLike], typed: str, limit: int = MAX_CHOICES) -> list[tuple[str, str]]:
    """Bank claims matching ``typed`` as (claim, value) pairs, best first: the exact claim or id, then
    ids starting with it, then claims containing it as a phrase, then claims/ids containing every word.
    Nothing typed: the bank's first ``limit`` claims, in order."""
    wanted = _normal(typed)
    words = wanted.split()
    ranked: list[tuple[int, int, ClaimLike]] = []
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
    return [(c.claim, c.claim if len(c.claim) <= MAX_CHOICE_VALUE else c.id) for _, _, c in ranked[:limit]]


def claims_autocomplete(claims: Iterable[ClaimLike], *, command: str = "poll",
                        option: str = "claim") -> Autocomplete:
    """An autocomplete provider offering ``claims`` for ``/<command> <option>:`` (nothing elsewhere)."""
    bank = list(claims)

    def complete(command_name: str, option_name: str, typed: str) -> list[tuple[str, str]]:
        if (command_name, option_name) != (command, option):
            return []
        return claim_choices(bank, typed)

    return complete
