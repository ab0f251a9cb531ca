"""Shared helpers for the benchmark scripts: question sets and throwaway indexes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bot.knowledge.service import KnowledgeService
from bot.paths import shipped
from bot.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
DEV_SET = SHARED / "eval" / "dev_qa.jsonl"
FAIRYTALES = SHARED / "eval" / "fairytaleqa-val"
CALIBRATION_SET = Path(__file__).with_name("data") / "calibration_qa.jsonl"
SHIPPED_READING = "dwarkesh-107-ilya-sutskever"


def load_questions(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def open_service(data_dir: Path) -> KnowledgeService:
    settings = Settings.from_env(
        {"READBOT_DATA_DIR": str(data_dir), "READBOT_KNOWLEDGE_DIR": str(shipped("knowledge"))}, dotenv=None
    )
    return KnowledgeService.open(settings)


def fresh_service(data_dir: Path | None = None) -> KnowledgeService:
    """A service over a new index of the shipped reading in a temporary folder."""
    service = open_service(data_dir or Path(tempfile.mkdtemp(prefix="readbot-bench-")))
    service.ensure_ingested()
    return service


def story_files(folder: Path = FAIRYTALES) -> list[Path]:
    return sorted(p for p in folder.glob("*.md") if p.stem.upper() not in {"README", "ATTRIBUTION", "LICENSE"})


def both_kinds_service(data_dir: Path | None = None) -> KnowledgeService:
    """One index holding the shipped reading and every FairytaleQA story, each story its
    own reading (named after its file), as a reading group would add them. An existing
    ``data_dir`` is reused (ingest skips what is unchanged)."""
    service = open_service(data_dir or Path(tempfile.mkdtemp(prefix="readbot-both-")))
    service.ingest()
    for path in story_files():
        service.ingest([path], reading=path.stem)
    return service


def fairytale_questions() -> list[dict[str, Any]]:
    return load_questions(FAIRYTALES / "questions.jsonl")


def machine() -> str:
    """The CPU the figures were measured on, in one line. Speed differs between machines of one
    kind: the int8 models run about 3× faster where the CPU has an int8 dot-product instruction
    (AVX-512 VNNI or AVX-VNNI) than with AVX2 alone."""
    import os

    name, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    vnni = sorted(flags & {"avx512_vnni", "avx_vnni"})
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    dot = f"int8 dot product ({', '.join(vnni)})" if vnni else "no int8 dot-product instruction (VNNI)"
    return f"{name}, {os.cpu_count()} cores, {isa}, {dot}"
