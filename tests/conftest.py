"""Shared fixtures for the knowledge-core tests.

* The whole session runs offline: non-loopback DNS lookups and connects raise
  ``RuntimeError("network access blocked in tests: ...")``, in this process and (through a
  ``sitecustomize`` put on PYTHONPATH) in every ``readbot`` subprocess the tests start.
  A hidden model download or telemetry call fails loudly instead of passing by luck.
* Everything is real: the bundled ONNX model, an embedded Chroma in a tmp dir, real files.
  The shipped reading is indexed once per session (``knowledge_service``); tests that
  change an index use their own ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) from elsewhere
    sys.path.insert(0, str(_REPO_ROOT))

READING_FILE = "dwarkesh-107-ilya-sutskever.txt"

# One source for the guard: exec'd here, and written as sitecustomize.py for subprocesses.
_GUARD_SOURCE = r"""
import ipaddress as _ipaddress
import socket as _socket

_ORIGINALS = {}


def _is_loopback(host):
    if host is None:
        return True  # getaddrinfo(None, port): a local bind address
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip().lower().strip("[]")
    if host in ("", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    host = host.split("%", 1)[0]
    try:
        address = _ipaddress.ip_address(host)
    except ValueError:
        return False
    if getattr(address, "ipv4_mapped", None) is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _blocked(what, target):
    raise RuntimeError(f"network access blocked in tests: {what} {target!r}")


def install_network_block():
    if _ORIGINALS:
        return
    _ORIGINALS.update(
        getaddrinfo=_socket.getaddrinfo,
        connect=_socket.socket.connect,
        connect_ex=_socket.socket.connect_ex,
    )
    real_getaddrinfo = _ORIGINALS["getaddrinfo"]
    real_connect = _ORIGINALS["connect"]
    real_connect_ex = _ORIGINALS["connect_ex"]

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            _blocked("getaddrinfo", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def _check(sock, address):
        if sock.family in (_socket.AF_INET, _socket.AF_INET6):
            if not _is_loopback(address[0]):
                _blocked("connect", address)

    def connect(self, address):
        _check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return real_connect_ex(self, address)

    _socket.getaddrinfo = getaddrinfo
    _socket.socket.connect = connect
    _socket.socket.connect_ex = connect_ex


def uninstall_network_block():
    if not _ORIGINALS:
        return
    _socket.getaddrinfo = _ORIGINALS["getaddrinfo"]
    _socket.socket.connect = _ORIGINALS["connect"]
    _socket.socket.connect_ex = _ORIGINALS["connect_ex"]
    _ORIGINALS.clear()
"""

_guard: dict[str, Any] = {}
exec(compile(_GUARD_SOURCE, "<readbot-test-network-guard>", "exec"), _guard)
_guard["install_network_block"]()


def pytest_unconfigure(config: pytest.Config) -> None:
    _guard["uninstall_network_block"]()


# --------------------------------------------------------------------------- paths, data


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return _REPO_ROOT


@pytest.fixture(scope="session")
def reading_path(repo_root: Path) -> Path:
    return repo_root / "knowledge" / READING_FILE


@pytest.fixture(scope="session")
def reading_text(reading_path: Path) -> str:
    return reading_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def shared_dir(repo_root: Path) -> Path:
    shared = repo_root.parent / "shared"
    if not shared.is_dir():
        pytest.skip(
            f"{shared} is missing (the shared folder beside the repository root holds "
            "the dev questions and the reference copy of the reading)"
        )
    return shared


@pytest.fixture(scope="session")
def dev_questions(shared_dir: Path) -> list[dict[str, Any]]:
    path = shared_dir / "eval" / "dev_qa.jsonl"
    if not path.is_file():
        pytest.skip(f"dev question set {path} is missing")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert rows, f"{path} holds no questions"
    return rows


# --------------------------------------------------------------------------- real services


@pytest.fixture(scope="session")
def encoder() -> Any:
    """The process-wide bundled encoder (the model is loaded once per session)."""
    from bot.knowledge.embeddings import shared_encoder

    return shared_encoder()


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session-data")


@pytest.fixture(scope="session")
def knowledge_service(session_data_dir: Path, encoder: Any) -> Iterator[Any]:
    """The shipped reading indexed once, in a tmp data dir, with the bundled model."""
    from bot.knowledge.service import KnowledgeService
    from bot.settings import Settings

    settings = Settings.from_env({"READBOT_DATA_DIR": str(session_data_dir)}, dotenv=None)
    service = KnowledgeService.open(settings)
    report = service.ensure_ingested()
    assert report is not None and report.added and not report.failed, report
    yield service
    service.close()


@pytest.fixture(scope="session")
def three_kinds(tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, encoder: Any) -> Iterator[Any]:
    """One index of three kinds of reading: the shipped summary, the expository guide
    (``tests/data/photosynthesis.md``, reading ``photo``) and a FairytaleQA story (``kari-woodencoat``)."""
    from bot.knowledge.service import KnowledgeService
    from bot.settings import Settings

    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path_factory.mktemp("three-kinds"))}, dotenv=None)
    service = KnowledgeService.open(settings)
    service.ensure_ingested()
    for path, reading in (
        (Path(__file__).with_name("data") / "photosynthesis.md", "photo"),
        (shared_dir / "eval" / "fairytaleqa-val" / "kari-woodencoat.md", "kari-woodencoat"),
    ):
        report = service.ingest([path], reading=reading)
        assert report.added and not report.failed, report
    yield service
    service.close()


@pytest.fixture
def tmp_settings(tmp_path: Path) -> Any:
    """Settings for a fresh, empty data dir of this test's own (shipped knowledge dir)."""
    from bot.settings import Settings

    return Settings.from_env({"READBOT_DATA_DIR": str(tmp_path / "data")}, dotenv=None)


# --------------------------------------------------------------------------- the real CLI


@pytest.fixture(scope="session")
def readbot_exe() -> Path:
    exe = Path(sys.executable).parent / "readbot"
    if not exe.exists():
        pytest.fail(f"console script {exe} is missing: install the project (pip install -e .)")
    return exe


@pytest.fixture(scope="session")
def subprocess_guard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose sitecustomize.py blocks the network in any Python started with it
    on PYTHONPATH."""
    folder = tmp_path_factory.mktemp("netguard")
    (folder / "sitecustomize.py").write_text(_GUARD_SOURCE + "\ninstall_network_block()\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def cli_env(subprocess_guard_dir: Path) -> dict[str, str]:
    """The environment for readbot subprocesses: no readbot/chat settings inherited from
    the caller, offline, network-guarded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READBOT_", "SLACK_", "DISCORD_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(subprocess_guard_dir), str(_REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["HF_HUB_OFFLINE"] = "1"
    env["ANONYMIZED_TELEMETRY"] = "False"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@pytest.fixture(scope="session")
def run_readbot(readbot_exe: Path, cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run the installed ``readbot`` console script; returns CompletedProcess (text)."""
    workdir = tmp_path_factory.mktemp("cli-cwd")  # no stray .env is picked up

    def run(
        args: list[str],
        *,
        data_dir: Path,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 180,
    ) -> subprocess.CompletedProcess[str]:
        full_env = dict(cli_env)
        full_env["READBOT_DATA_DIR"] = str(data_dir)
        full_env.update(env or {})
        return subprocess.run(
            [str(readbot_exe), *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=full_env,
            cwd=workdir,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def cli_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir shared by the CLI tests: the first ``readbot ask`` indexes the reading."""
    return tmp_path_factory.mktemp("cli-data")
