"""The bank of claims for /poll (prompts/claims.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.paths import shipped

CLAIMS_PATH = shipped("prompts") / "claims.yaml"


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    section: str
    passage: str


def load_claims(path: Path = CLAIMS_PATH) -> list[Claim]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [Claim(c["id"], c["claim"], c["section"], c["passage"]) for c in data.get("claims", [])]


def find(claims: list[Claim], text: str) -> Claim | None:
    """The bank claim a moderator typed (by id, or the claim's exact words)."""
    wanted = " ".join(text.split()).lower()
    return next((c for c in claims if wanted in (c.id.lower(), c.claim.lower())), None)
