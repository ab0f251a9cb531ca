"""Static checks of the deployment files in deploy/ (no Docker or cluster needed).

* every YAML file parses; compose has readbot + Chroma + PostgreSQL with healthchecks,
  the server URLs, service_healthy dependencies and a read-only readbot.toml;
* every Kubernetes manifest has apiVersion/kind/metadata and only fields that the
  Kubernetes API knows (checked against the models of the ``kubernetes`` client, which
  chromadb installs), the Deployment's probes, security context and mounts are right;
* the Dockerfile runs as a non-root user, has a HEALTHCHECK, no ``latest`` images, and
  installs deploy/requirements.lock, whose pins are exactly what the project needs at the
  versions installed here;
* the systemd unit has its sections and hardening (and passes ``systemd-analyze verify``
  where that exists).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
HTTP_PORT = 3000
OPS_PORT = 8081  # /healthz, /readyz, /metrics apart from the public port


def _yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p in sorted(K8S.glob("*.yaml")) if p.name != "kustomization.yaml" for d in _yaml_docs(p)]


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for _, d in _k8s_docs() if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def _image_ok(image: str) -> bool:
    """An explicit tag (or digest) that is not ``latest``."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag not in ("", "latest")


# --------------------------------------------------------------------------- YAML


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    assert _yaml_docs(path), f"{path} holds no YAML document"


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml_docs(DEPLOY / "compose.yaml")[0]


def test_compose_services_have_healthchecks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"readbot", "chroma", "postgres"}
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert _image_ok(service["image"]), f"{name}: {service['image']}"
    assert "/healthz" in " ".join(services["readbot"]["healthcheck"]["test"])
    assert "/api/v2/heartbeat" in " ".join(services["chroma"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["postgres"]["image"].startswith("postgres:16")


def test_compose_readbot_wiring(compose: dict[str, Any]) -> None:
    readbot = compose["services"]["readbot"]
    assert readbot["env_file"] == ".env"
    env = readbot["environment"]
    assert env["READBOT_CHROMA_URL"] == "http://chroma:8000"
    assert re.fullmatch(
        r"postgresql://readbot:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/readbot", env["READBOT_DATABASE_URL"]
    ), env["READBOT_DATABASE_URL"]
    assert env["READBOT_DATA_DIR"] == "/data"
    assert readbot["depends_on"] == {
        "chroma": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    assert readbot["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    mounts = {m["target"]: m for m in readbot["volumes"] if isinstance(m, dict)}
    config = mounts["/etc/readbot/readbot.toml"]
    assert config["read_only"] is True and config["type"] == "bind"
    assert env["READBOT_CONFIG"] == "/etc/readbot/readbot.toml"
    assert "readbot-data:/data" in readbot["volumes"]
    # the ops endpoints apart from the public port: probed there, never published
    assert (env["READBOT_HTTP_PORT"], env["READBOT_OPS_PORT"]) == (str(HTTP_PORT), str(OPS_PORT))
    assert env["READBOT_OPS_HOST"] == "0.0.0.0"
    assert f"127.0.0.1:{OPS_PORT}/healthz" in " ".join(readbot["healthcheck"]["test"])
    assert readbot["ports"] == [f"{HTTP_PORT}:{HTTP_PORT}"] and str(OPS_PORT) in readbot["expose"]


def test_compose_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert declared == {"readbot-data", "chroma-data", "postgres-data"}
    used = {
        str(v).split(":", 1)[0]
        for s in compose["services"].values()
        for v in s.get("volumes", [])
        if isinstance(v, str)
    }
    assert used == declared
    assert compose["services"]["postgres"]["environment"]["POSTGRES_DB"] == "readbot"
    assert compose["services"]["postgres"]["environment"]["POSTGRES_USER"] == "readbot"


# --------------------------------------------------------------------------- Kubernetes

try:
    from kubernetes.client import models as k8s_models
except ImportError:  # pragma: no cover - chromadb depends on it
    k8s_models = None

KIND_MODELS = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Service"): "V1Service",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("apps/v1", "StatefulSet"): "V1StatefulSet",
}


def _schema_errors(value: Any, type_name: str, where: str) -> list[str]:
    """Where ``value`` does not fit the Kubernetes model ``type_name`` (unknown fields,
    wrong types), following the kubernetes client's openapi_types."""
    # the client spells containers list[X] / dict(str, X) (older) or List[X] / Dict[str, X]
    if m := re.fullmatch(r"[Ll]ist\[(.+)\]", type_name):
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        return [e for i, v in enumerate(value) for e in _schema_errors(v, m.group(1), f"{where}[{i}]")]
    if m := re.fullmatch(r"dict\(str, (.+)\)|Dict\[str, (.+)\]", type_name):
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping"]
        inner = m.group(1) or m.group(2)
        return [e for k, v in value.items() for e in _schema_errors(v, inner, f"{where}.{k}")]
    simple = {"str": (str,), "int": (int,), "bool": (bool,), "float": (int, float), "datetime": (str,), "bytes": (str,)}
    if type_name in simple:
        ok = isinstance(value, simple[type_name]) and not (type_name == "int" and isinstance(value, bool))
        return [] if ok else [f"{where}: expected {type_name}, got {value!r}"]
    if type_name == "object":  # IntOrString and free-form fields
        return []
    model = getattr(k8s_models, type_name)
    if not isinstance(value, dict):
        return [f"{where}: expected a {type_name} mapping"]
    fields = {json_key: model.openapi_types[attr] for attr, json_key in model.attribute_map.items()}
    errors = []
    for key, item in value.items():
        if key not in fields:
            errors.append(f"{where}.{key}: not a field of {type_name}")
        else:
            errors.extend(_schema_errors(item, fields[key], f"{where}.{key}"))
    return errors


def test_k8s_manifests_are_api_objects() -> None:
    docs = _k8s_docs()
    kinds = sorted(d["kind"] for _, d in docs)
    assert kinds == ["ConfigMap", "Deployment", "Secret", "Service", "Service", "Service", "StatefulSet"]
    for path, doc in docs:
        assert doc.get("apiVersion") and doc.get("kind"), path
        assert doc.get("metadata", {}).get("name"), path


@pytest.mark.skipif(k8s_models is None, reason="the kubernetes client is not installed")
def test_k8s_manifests_fit_the_api_schema() -> None:
    errors = []
    for path, doc in _k8s_docs():
        model = KIND_MODELS[(doc["apiVersion"], doc["kind"])]
        errors += _schema_errors(doc, model, f"{path.name}:{doc['kind']}")
    assert not errors, "\n".join(errors)


@pytest.mark.skipif(k8s_models is None, reason="the kubernetes client is not installed")
def test_schema_check_catches_a_misspelt_field() -> None:
    deployment = _one("Deployment")
    container = dict(deployment["spec"]["template"]["spec"]["containers"][0])
    container["readinesProbe"] = container.pop("readinessProbe")
    assert _schema_errors(container, "V1Container", "c") == ["c.readinesProbe: not a field of V1Container"]
    assert _schema_errors({"replicas": "2"}, "V1DeploymentSpec", "s") == ["s.replicas: expected int, got '2'"]


def test_k8s_deployment_probes_and_security() -> None:
    deployment = _one("Deployment", "readbot")
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["containers"]
    assert _image_ok(container["image"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": HTTP_PORT, "ops": OPS_PORT}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["READBOT_HTTP_PORT"], env["READBOT_OPS_PORT"]) == (str(HTTP_PORT), str(OPS_PORT))
    assert env["READBOT_OPS_HOST"] == "0.0.0.0"  # else the kubelet can't reach the probes
    scrape = deployment["spec"]["template"]["metadata"]["annotations"]
    assert scrape["prometheus.io/port"] == str(OPS_PORT) and scrape["prometheus.io/path"] == "/metrics"

    def probe(kind: str) -> tuple[str, int]:
        get = container[kind]["httpGet"]
        port = get["port"]
        return get["path"], ports[port] if isinstance(port, str) else port

    assert probe("livenessProbe") == ("/healthz", OPS_PORT)
    assert probe("readinessProbe") == ("/readyz", OPS_PORT)
    assert probe("startupProbe") == ("/healthz", OPS_PORT)

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]

    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"} and "memory" in resources["limits"]


def test_k8s_deployment_mounts_env_and_secret() -> None:
    deployment = _one("Deployment", "readbot")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}

    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    data = volumes[mounts[env["READBOT_DATA_DIR"]]["name"]]
    assert "emptyDir" in data or "persistentVolumeClaim" in data

    config_path = Path(env["READBOT_CONFIG"])
    config_mount = mounts[str(config_path.parent)]
    assert config_mount["readOnly"] is True
    config_map = volumes[config_mount["name"]]["configMap"]["name"]
    assert config_path.name in _one("ConfigMap", config_map)["data"]

    assert env["READBOT_CHROMA_URL"] == "http://chroma:8000"
    (source,) = container["envFrom"]
    secret = _one("Secret", source["secretRef"]["name"])
    values = {**secret.get("stringData", {}), **secret.get("data", {})}
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "READBOT_DATABASE_URL", "READBOT_POLL_SECRET"} <= set(values)
    assert all(v == "" or "REPLACE-ME" in v for v in values.values()), "the example Secret holds real-looking values"


def test_k8s_services_select_their_pods() -> None:
    service = _one("Service", "readbot")
    deployment = _one("Deployment", "readbot")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    (port,) = service["spec"]["ports"]
    assert port["port"] == HTTP_PORT and port["targetPort"] == "http"

    chroma = _one("StatefulSet", "chroma")
    labels = chroma["spec"]["template"]["metadata"]["labels"]
    assert _one("Service", "chroma")["spec"]["selector"].items() <= labels.items()
    assert _one("Service", chroma["spec"]["serviceName"])["spec"]["clusterIP"] == "None"
    (container,) = chroma["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v2/heartbeat"
    assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/data"}
    assert chroma["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] in {
        m["name"] for m in container["volumeMounts"]
    }


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    (kustomization,) = _yaml_docs(K8S / "kustomization.yaml")
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}


# --------------------------------------------------------------------------- Dockerfile


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        pending += " " + stripped.removesuffix("\\") if pending else stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return _instructions((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (word, _) in enumerate(instructions) if word == "FROM"]
    return instructions[starts[-1] :]


def test_dockerfile_images_are_pinned(dockerfile: list[tuple[str, str]]) -> None:
    args = dict(re.match(r"(\w+)=(\S+)", rest).groups() for word, rest in dockerfile if word == "ARG" and "=" in rest)
    stages: set[str] = set()
    froms = [rest for word, rest in dockerfile if word == "FROM"]
    assert len(froms) >= 2, "expected a multi-stage build"
    for rest in froms:
        image, *alias = rest.split()
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        if image not in stages:
            assert _image_ok(image), image
        if alias:
            stages.add(alias[-1])
    assert not re.search(r":latest\b", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))


def test_dockerfile_runtime_stage(dockerfile: list[tuple[str, str]]) -> None:
    final = _final_stage(dockerfile)
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the runtime stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    assert any(word == "RUN" and f"--uid {user}" in rest for word, rest in final), "the user is not created"

    (healthcheck,) = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "127.0.0.1" in healthcheck and "READBOT_HTTP_PORT" in healthcheck
    assert "READBOT_OPS_PORT" in healthcheck
    assert "urllib" in healthcheck

    env = " ".join(rest for word, rest in final if word == "ENV")
    assert "READBOT_DATA_DIR=/data" in env
    assert ("VOLUME", '["/data"]') in final
    assert ("EXPOSE", f"{HTTP_PORT} {OPS_PORT}") in final
    assert ("ENTRYPOINT", '["readbot"]') in final
    assert ("CMD", '["run"]') in final
    copies = [rest for word, rest in final if word == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"], "the runtime stage copies more than the venv"


def test_dockerfile_installs_the_lock_without_deps(dockerfile: list[tuple[str, str]]) -> None:
    runs = " ".join(rest for word, rest in dockerfile if word == "RUN")
    assert re.search(r"pip install --no-deps -r \S*requirements\.lock", runs)
    assert re.search(r"pip install --no-deps /tmp/wheels/readbot-\*\.whl", runs)
    assert "pip check" in runs


def test_dockerignore_keeps_what_the_dockerfile_copies(dockerfile: list[tuple[str, str]]) -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for word, rest in dockerfile:
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _dest = rest.split()
            for source in sources:
                assert source.rstrip("/") in kept, f"COPY {source} is excluded by the .dockerignore"
                assert (ROOT / source).exists(), source


# --------------------------------------------------------------------------- the lock


def _lock_module() -> Any:
    sys.path.insert(0, str(DEPLOY))
    try:
        import lock
    finally:
        sys.path.remove(str(DEPLOY))
    return lock


def test_lock_pins_match_this_environment() -> None:
    lock = _lock_module()
    pins = lock.parse((DEPLOY / "requirements.lock").read_text(encoding="utf-8"))
    assert len(pins) > 20
    wrong = []
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}=={version}: not installed")
            continue
        if installed != version:
            wrong.append(f"{name}=={version}: {installed} installed")
    assert not wrong, (
        "deploy/requirements.lock differs from this venv "
        "(regenerate: .venv/bin/python deploy/lock.py):\n" + "\n".join(wrong)
    )
    excluded = {"readbot", "pytest", "pytest-asyncio", "ruff", "pip", "setuptools"}
    assert not {n.lower() for n in pins} & excluded


def test_lock_is_complete() -> None:
    """Every runtime dependency of the project (transitively) is pinned, nothing else."""
    lock = _lock_module()
    pins = lock.parse((DEPLOY / "requirements.lock").read_text(encoding="utf-8"))
    assert pins == lock.closure(), "regenerate: .venv/bin/python deploy/lock.py"


def test_build_lock_pins_the_backend() -> None:
    lock = _lock_module()
    build = lock.parse((DEPLOY / "build-requirements.lock").read_text(encoding="utf-8"))
    assert "hatchling" in build
    import tomllib

    backend = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    assert backend["build-backend"] == "hatchling.build"


# --------------------------------------------------------------------------- systemd


def _unit(text: str) -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            assert current not in sections, f"line {number}: [{current}] twice"
            sections[current] = []
            continue
        assert current is not None and "=" in line, f"line {number}: {line!r}"
        key, value = line.split("=", 1)
        sections[current].append((key.strip(), value.strip()))
    return sections


def test_systemd_unit() -> None:
    unit = _unit((DEPLOY / "readbot.service").read_text(encoding="utf-8"))
    assert list(unit) == ["Unit", "Service", "Install"]
    service = dict(unit["Service"])  # the last value of a repeated key
    assert service["User"] == "readbot"
    assert service["EnvironmentFile"] == "/etc/readbot/env"
    assert service["WorkingDirectory"] == "/var/lib/readbot"
    assert service["ExecStart"] == "/opt/readbot/.venv/bin/readbot run"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/readbot"
    assert service["PrivateTmp"] == "yes"
    environment = [v for k, v in unit["Service"] if k == "Environment"]
    assert "READBOT_DATA_DIR=/var/lib/readbot" in environment
    assert dict(unit["Install"])["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    text = (DEPLOY / "readbot.service").read_text(encoding="utf-8")
    # verify wants ExecStart to exist: point it at a stand-in, the rest is checked as written
    unit = tmp_path / "readbot.service"
    unit.write_text(text.replace("/opt/readbot/.venv/bin/readbot", "/bin/true"), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_slack_manifest_lists_exactly_the_declared_commands() -> None:
    """Slack's slash commands are declared in the app manifest: it must match the features'
    declarations (bot/*/commands.py), so a new command can't be forgotten there."""
    from bot.adapters.slack.manifest import slash_commands
    from bot.app import command_specs

    manifest = yaml.safe_load((ROOT / "deploy" / "slack-manifest.yaml").read_text(encoding="utf-8"))
    listed = manifest["features"]["slash_commands"]
    url = listed[0]["url"]
    assert listed == slash_commands(command_specs(), url)
    assert all(url == c["url"] and url.endswith("/slack/events") for c in listed)
