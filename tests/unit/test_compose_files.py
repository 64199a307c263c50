"""compose/ read as an operator's machine would, without Docker: every Confero service starts a module that
exists with variables that are real settings, and refuses to start without its secrets; every service has a
health check, every stateful server a volume, every image an exact tag; Prometheus scrapes every service;
.env.example names every secret the file requires and holds none; the Dockerfile is multi-stage, pinned
and runs unprivileged (hadolint: tests/integration/test_compose_tools.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from runners.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose"
FILE = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = FILE["services"]
CONFERO = {name: s for name, s in SERVICES.items() if str(s.get("image", "")).startswith("confero")}
# The media node (python -m runners.media, issue 14) is being written on another branch: its module and its
# settings are allowed here until it lands (then this set empties and the checks below cover it).
PENDING_MODULES: set[str] = set()
PENDING_SETTINGS = {"APP_MEDIA_NODES"}
STATEFUL = {"postgres": "/var/lib/postgresql/data", "redis": "/data", "etcd": "/etcd-data", "mongo": "/data/db",
            "minio": "/data", "prometheus": "/prometheus", "loki": "/loki", "grafana": "/var/lib/grafana"}
SERVICE_MODULES = {"users", "meetings", "signaling", "media", "gateway", "ai", "notifications", "app"}


def setting_names() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names |= {c for c in getattr(alias, "choices", ()) if isinstance(c, str) and c.startswith("APP_")}
    return names


def interpolated(value: Any, fill: str = "x" * 48) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message} with every variable set to ``fill``."""
    return re.sub(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}", fill, str(value))


def required_variables() -> set[str]:
    text = (COMPOSE / "docker-compose.yml").read_text()
    return set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))


def runnable(module: str) -> bool:
    """A package with a __main__, or a module with a main guard (what `python -m` starts)."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:  # a parent that is a plain module
        return False
    if spec is None:
        return False
    if spec.submodule_search_locations:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return spec.origin is not None and 'if __name__ == "__main__":' in Path(spec.origin).read_text()


def module_of(service: dict[str, Any]) -> str:
    command = service["command"]
    assert command[:2] == ["python", "-m"], command
    return command[2]


def test_every_confero_service_starts_a_runner_module_that_exists() -> None:
    assert SERVICE_MODULES | {"migrate", "triton"} == set(CONFERO)
    for name, service in CONFERO.items():
        module = module_of(service)
        assert runnable(module) or module in PENDING_MODULES, (name, module)


def test_every_app_variable_in_compose_and_the_example_env_is_a_setting() -> None:
    known = setting_names() | PENDING_SETTINGS
    used = set(re.findall(r"\bAPP_[A-Z0-9_]+", (COMPOSE / "docker-compose.yml").read_text()))
    used |= set(re.findall(r"^(APP_[A-Z0-9_]+)=", (COMPOSE / ".env.example").read_text(), re.M))
    assert used and used <= known, sorted(used - known)


def test_the_example_env_names_every_required_variable_and_holds_no_secret() -> None:
    example = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", (COMPOSE / ".env.example").read_text(), re.M))
    assert required_variables() <= set(example), sorted(required_variables() - set(example))
    for name in required_variables():
        assert example[name] == "", f"{name} must be left empty in .env.example"
    assert not (COMPOSE / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()


def production_env(name: str) -> dict[str, str]:
    env = {k: interpolated(v) for k, v in CONFERO[name]["environment"].items()}
    return {k: v for k, v in env.items() if k not in PENDING_SETTINGS}


@pytest.mark.parametrize("name", sorted(SERVICE_MODULES))
def test_each_service_starts_with_its_compose_settings_and_refuses_without_its_secrets(name: str) -> None:
    env = production_env(name)
    settings = Settings.from_env(env)  # the compose values (secrets filled) are a valid configuration
    assert settings.adapters.value == "production" and settings.metrics_host == "0.0.0.0"
    for secret in ("APP_JWT_SECRET", "APP_POSTGRES_DSN", "APP_REDIS_URL"):
        if name == "gateway" and secret != "APP_JWT_SECRET":
            continue  # the gateway keeps no data (Redis only for its rate limits, optional)
        if name == "signaling" and secret == "APP_POSTGRES_DSN":
            # With both gRPC targets it may run without a database (it then serves no recordings):
            # compose gives it one so that the recordings routes the gateway sends it work.
            assert env["APP_USERS_GRPC_TARGET"] and env["APP_MEETINGS_GRPC_TARGET"] and env[secret]
            continue
        with pytest.raises(ConfigError, match=secret):
            Settings.from_env({k: v for k, v in env.items() if k != secret})
    if env.get("APP_USERS_GRPC_TARGET") or env.get("APP_MEETINGS_GRPC_TARGET"):
        with pytest.raises(ConfigError, match="APP_SERVICE_SECRETS"):
            Settings.from_env({k: v for k, v in env.items() if k != "APP_SERVICE_SECRETS"})
    if env.get("APP_CAPTIONS_SPEECH") == "grpc":
        with pytest.raises(ConfigError, match="APP_CAPTIONS_SERVICE_TOKEN"):
            Settings.from_env({k: v for k, v in env.items() if k != "APP_CAPTIONS_SERVICE_TOKEN"})


def test_every_secret_comes_from_the_env_file_and_none_is_written_in_the_compose_file() -> None:
    text = (COMPOSE / "docker-compose.yml").read_text()
    for name in CONFERO:
        for key, value in CONFERO[name].get("environment", {}).items():
            if any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "_DSN", "REDIS_URL", "MONGO_URL")):
                if value:
                    assert "${" in str(value), (name, key)  # interpolated from .env, never a literal
    for word in ("confero-minio-secret", "POSTGRES_PASSWORD: confero"):
        assert word not in text


def test_every_long_running_service_has_a_health_check_and_the_services_probe_ready_or_health() -> None:
    for name, service in SERVICES.items():
        if name == "migrate":  # a one-shot job: the others wait for it to complete successfully
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service and service["healthcheck"]["test"], name
    for name in SERVICE_MODULES:
        probe = " ".join(CONFERO[name]["healthcheck"]["test"])
        assert re.search(r"http://127\.0\.0\.1:\d+/(ready|health)'", probe), name
        port = re.search(r":(\d+)/(?:ready|health)", probe).group(1)
        assert port in CONFERO[name]["expose"], name  # the probe asks the port the service listens on


def test_every_stateful_server_keeps_its_data_in_a_named_volume() -> None:
    volumes = set(FILE["volumes"])
    for name, path in STATEFUL.items():
        mounts = [m for m in SERVICES[name]["volumes"] if str(m).endswith(":" + path) or f":{path}:" in str(m)]
        assert mounts and mounts[0].split(":")[0] in volumes, name
    assert "--appendonly" in SERVICES["redis"]["command"] and "yes" in SERVICES["redis"]["command"]


def test_every_image_is_pinned_to_an_exact_version() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        if name in CONFERO:
            assert image in ("confero:local", "confero-ai:local") and "build" in service, name
            continue
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), (name, image)
        assert not re.fullmatch(r"v?\d+", tag), (name, image)  # a major version alone moves


def test_signaling_and_media_scale_and_register_their_own_address() -> None:
    for name in ("signaling", "media"):
        assert CONFERO[name]["deploy"]["replicas"] >= 1
        assert "ports" not in CONFERO[name]  # a published port would stop a second replica
    for name in SERVICE_MODULES - {"app"}:
        assert CONFERO[name]["environment"]["APP_ETCD_URL"] == "http://etcd:2379", name
    assert CONFERO["signaling"]["environment"]["APP_MEDIA_NODES"] == "etcd"
    entry = (COMPOSE / "entrypoint.sh").read_text()
    assert "APP_ADVERTISE_HOST" in entry and "gethostbyname(socket.gethostname())" in entry and 'exec "$@"' in entry


def test_prometheus_scrapes_the_metrics_port_of_every_service() -> None:
    config = yaml.safe_load((COMPOSE / "prometheus/prometheus.yml").read_text())
    scraped = {sd["names"][0]: sd["port"] for job in config["scrape_configs"] for sd in job.get("dns_sd_configs", ())}
    for name in SERVICE_MODULES - {"media"}:
        env = CONFERO[name]["environment"]
        assert scraped.get(name) == int(env["APP_METRICS_PORT"]), name
        assert env["APP_METRICS_HOST"] == "0.0.0.0" and env["APP_METRICS_PORT"] in CONFERO[name]["expose"], name
    # The media node serves /metrics on its own HTTP port, which nothing routes to from outside.
    assert scraped["media"] == int(CONFERO["media"]["environment"]["APP_MEDIA_PORT"])
    assert scraped["triton"] == int(CONFERO["triton"]["environment"]["APP_INFERENCE_METRICS_PORT"])


def test_the_dockerfile_is_multi_stage_pinned_and_runs_unprivileged() -> None:
    text = (COMPOSE / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.M)
    stages = {alias for _, alias in bases if alias}
    assert len(bases) >= 2 and {"build", "runtime", "ai"} <= stages
    for image, _ in bases:
        if image in stages:
            continue
        assert re.fullmatch(r"python:3\.\d+\.\d+-(slim-)?bookworm(@sha256:[0-9a-f]{64})?", image), image
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("0", "root")
    runtime = text[text.index("AS runtime"):]
    assert re.search(r"^USER 10001$", runtime[:runtime.index("FROM runtime AS ai")], re.M)  # the default target too
    for stage in ("runtime", "ai"):
        assert CONFERO_TARGETS[stage], stage


CONFERO_TARGETS = {"runtime": [n for n, s in CONFERO.items() if s["build"].get("target") == "runtime"],
                   "ai": [n for n, s in CONFERO.items() if s["build"].get("target") == "ai"]}


def test_every_dependency_exists_and_a_healthy_condition_waits_on_a_health_check() -> None:
    for name, service in SERVICES.items():
        depends = service.get("depends_on", {})
        for target in depends:
            assert target in SERVICES, (name, target)
            if isinstance(depends, dict) and depends[target].get("condition") == "service_healthy":
                assert "healthcheck" in SERVICES[target], (name, target)
            if isinstance(depends, dict) and depends[target].get("condition") == "service_completed_successfully":
                assert SERVICES[target]["restart"] == "no", (name, target)
        profiles = set(service.get("profiles", ()))
        for target in depends:  # a service outside a profile never waits on one that only runs inside it
            assert not SERVICES[target].get("profiles") or profiles, (name, target)


def test_the_entrypoint_advertises_the_containers_address_unless_one_is_given() -> None:
    import os
    import socket
    import subprocess
    import sys

    script = str(COMPOSE / "entrypoint.sh")
    env = {k: v for k, v in os.environ.items() if k != "APP_ADVERTISE_HOST"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"  # `python`, as in the image
    show = ["sh", "-c", 'echo "$APP_ADVERTISE_HOST"']
    chosen = subprocess.run(["sh", script, *show], env=env, capture_output=True, text=True, check=True).stdout.strip()
    given = subprocess.run(["sh", script, *show], env={**env, "APP_ADVERTISE_HOST": "media-7"}, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert chosen == socket.gethostbyname(socket.gethostname()) and given == "media-7"
