"""compose/'s Prometheus and nginx configurations, checked by the servers' own tools (Debian
`prometheus` ships promtool; `nginx-light`), installed by the Makefile's system-deps step."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

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
