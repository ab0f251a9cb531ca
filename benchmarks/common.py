"""Shared helpers for the benchmark scripts: question sets and a throwaway index."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bot.knowledge.service import KnowledgeService
from bot.paths import shipped
from bot.settings import Settings

DEV_SET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_qa.jsonl"
CALIBRATION_SET = Path(__file__).with_name("data") / "calibration_qa.jsonl"


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fresh_service(data_dir: Path | None = None) -> KnowledgeService:
    """A service over a new index of the shipped reading in a temporary folder."""
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="readbot-bench-"))
    settings = Settings.from_env(
        {"READBOT_DATA_DIR": str(data_dir), "READBOT_KNOWLEDGE_DIR": str(shipped("knowledge"))}, dotenv=None
    )
    service = KnowledgeService.open(settings)
    service.ensure_ingested()
    return service
