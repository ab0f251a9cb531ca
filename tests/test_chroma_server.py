"""readbot against a real Chroma server (READBOT_CHROMA_URL), as deployed by deploy/compose.yaml
and deploy/k8s/: the server is the ``chroma`` command of the installed chromadb package, on
loopback, with its own data dir; readbot runs as the installed console script."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

SECTION = "The disconnect between model capability and real-world performance"
QUESTION = "What does Ilya say about vibe coding?"
START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Iterator[str]:
    """A real Chroma server on 127.0.0.1:<free port>; yields its URL."""
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        pytest.fail(f"{exe} is missing: the chromadb package ships the `chroma` command")
    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=cli_env,
        cwd=root,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _heartbeat(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                output = (root / "server.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"chroma server did not answer {url}/api/v2/heartbeat (exit {proc.poll()}):\n{output}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_ingest_and_ask_through_a_chroma_server(chroma_server: str, run_readbot: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"READBOT_CHROMA_URL": chroma_server}

    first = run_readbot(["ingest"], data_dir=data_dir, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "1 added, 0 updated, 0 unchanged" in first.stdout, first.stdout

    asked = run_readbot(["ask", QUESTION, "--json"], data_dir=data_dir, env=env, timeout=120)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["grounded"] is True, answer
    assert answer["sources"], answer
    assert answer["sources"][0]["section"] == SECTION, answer["sources"]
    assert "vibe coding" in answer["answer"]

    again = run_readbot(["ingest"], data_dir=data_dir, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 updated, 1 unchanged" in again.stdout, again.stdout
    assert "0 chunks embedded" in again.stdout, again.stdout

    # The index is in the server, not in an embedded Chroma under the data dir.
    assert not (data_dir / "chroma").exists()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    port = int(chroma_server.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))
    assert client.get_collection("readbot").count() > 0


def test_compose_chroma_healthcheck_passes_against_a_real_server(chroma_server: str, repo_root: Path) -> None:
    """deploy/compose.yaml's Chroma healthcheck (bash only: the image has no curl) run as
    written, against the real server: exit 0 while it is up, non-zero for a closed port."""
    compose = yaml.safe_load((repo_root / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    test = compose["services"]["chroma"]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "/bin/bash", test
    script = test[3].replace("$$", "$")  # compose's escape for a literal $
    port = chroma_server.rsplit(":", 1)[1]
    assert "/dev/tcp/127.0.0.1/8000" in script
    up = subprocess.run(
        ["/bin/bash", "-c", script.replace("/8000", f"/{port}")], capture_output=True, timeout=10, check=False
    )
    assert up.returncode == 0, up.stderr
    down = subprocess.run(
        ["/bin/bash", "-c", script.replace("/8000", f"/{_free_port()}")], capture_output=True, timeout=10, check=False
    )
    assert down.returncode != 0


def test_chroma_image_matches_the_client(repo_root: Path) -> None:
    """The Chroma server image in compose and k8s is the chromadb version the client has."""
    from importlib.metadata import version

    wanted = f"chromadb/chroma:{version('chromadb')}"
    compose = yaml.safe_load((repo_root / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    assert compose["services"]["chroma"]["image"] == wanted
    docs = list(yaml.safe_load_all((repo_root / "deploy" / "k8s" / "chroma.yaml").read_text(encoding="utf-8")))
    images = [
        c["image"] for d in docs if d["kind"] == "StatefulSet" for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert images == [wanted]
