"""compose/: the application port is reachable only through the proxy, which bounds slow clients."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def test_only_the_proxy_publishes_a_port_and_the_app_trusts_exactly_that_hop() -> None:
    services = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy", "grafana", "jaeger"}
    for operator_ui in ("grafana", "jaeger"):  # for the operator on the host, not the world
        assert all(p.startswith("127.0.0.1:") for p in services[operator_ui]["ports"])
    app = services["app"]["environment"]
    assert (app["APP_TRUST_FORWARDED_FOR"], app["APP_TRUSTED_PROXY_HOPS"]) == ("true", "1")
    assert "nginx.conf" in services["proxy"]["volumes"][0]


def test_the_proxy_sets_the_slow_client_deadlines_and_a_per_client_limit() -> None:
    conf = (COMPOSE / "nginx.conf").read_text()
    for directive in ("server_tokens off;", "client_header_timeout", "client_body_timeout", "keepalive_timeout",
                      "limit_conn per_client", "proxy_pass http://app:8800;",
                      "X-Forwarded-For $proxy_add_x_forwarded_for"):
        assert directive in conf, directive
