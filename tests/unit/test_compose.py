"""compose/: the application port is reachable only through the proxy, which bounds slow clients."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "compose"


def test_only_the_proxies_publish_a_port_and_each_process_trusts_exactly_its_proxy_hops() -> None:
    services = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"nginx", "proxy-allinone", "grafana", "jaeger"}
    for operator_ui in ("grafana", "jaeger"):  # for the operator on the host, not the world
        assert all(p.startswith("127.0.0.1:") for p in services[operator_ui]["ports"])
    app = services["app"]["environment"]  # the all-in-one behind its proxy
    assert (app["APP_TRUST_FORWARDED_FOR"], app["APP_TRUSTED_PROXY_HOPS"]) == ("true", "1")
    assert "nginx.conf" in services["proxy-allinone"]["volumes"][0]
    gateway = services["gateway"]["environment"]  # behind nginx
    assert (gateway["APP_TRUST_FORWARDED_FOR"], gateway["APP_TRUSTED_PROXY_HOPS"]) == ("true", "1")
    assert "nginx-gateway.conf" in services["nginx"]["volumes"][0]
    for name in ("users", "meetings", "signaling", "media", "ai", "notifications"):  # behind nginx and the gateway
        env = services[name]["environment"]
        assert (env["APP_TRUST_FORWARDED_FOR"], env["APP_TRUSTED_PROXY_HOPS"]) == ("true", "2"), name


def test_the_proxy_sets_the_slow_client_deadlines_and_a_per_client_limit() -> None:
    conf = (COMPOSE / "nginx.conf").read_text()
    for directive in ("server_tokens off;", "client_header_timeout", "client_body_timeout", "keepalive_timeout",
                      "limit_conn per_client", "proxy_pass http://app:8800;",
                      "X-Forwarded-For $proxy_add_x_forwarded_for"):
        assert directive in conf, directive
