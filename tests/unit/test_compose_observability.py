"""compose/'s observability files, checked without Docker: the compose file against the Compose
specification (check-jsonschema's vendored copy), Grafana's provisioning and dashboards, and every metric
a dashboard queries exists in what the app's /metrics serves."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.support.dashboards import COMPOSE, DASHBOARDS, exposed_names, queried_metric_names


def served_metric_names() -> set[str]:
    """The names in the exposition of a process that imported every instrumented module."""
    import adapters.postgres.observed  # noqa: F401
    import adapters.redis.observed  # noqa: F401
    import adapters.webrtc.observed  # noqa: F401
    import runners.web.app  # noqa: F401
    from prometheus_client import REGISTRY, generate_latest

    return exposed_names(generate_latest(REGISTRY).decode())


def test_the_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                             str(COMPOSE / "docker-compose.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_is_valid_json_on_a_provisioned_data_source() -> None:
    sources = yaml.safe_load((COMPOSE / "grafana/provisioning/datasources/datasources.yml").read_text())
    uids = {s["uid"] for s in sources["datasources"]}
    assert {d.stem for d in DASHBOARDS} == {"api-latency", "meetings", "sfu-media", "ai"}
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["panels"], path
        for panel in board["panels"]:
            assert panel["datasource"]["uid"] in uids and panel["targets"], (path.name, panel["title"])


def test_every_confero_metric_a_dashboard_queries_is_defined() -> None:
    """Fast feedback; tests/integration/test_compose_tools.py checks every name (Triton's nv_* too) against
    what running processes serve."""
    served = served_metric_names()
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                queried = queried_metric_names(target["expr"])
                ours = {q for q in queried if not q.startswith("nv_")}  # Triton's own
                assert queried and ours <= served, (path.name, panel["title"], sorted(ours - served))


def test_prometheus_scrapes_the_metrics_port_the_app_listens_on_in_compose() -> None:
    app = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())["services"]["app"]
    config = yaml.safe_load((COMPOSE / "prometheus/prometheus.yml").read_text())
    [job] = [j for j in config["scrape_configs"] if j["job_name"] == "confero-allinone"]
    assert job["dns_sd_configs"][0]["port"] == int(app["environment"]["APP_METRICS_PORT"])
    assert app["environment"]["APP_METRICS_HOST"] == "0.0.0.0"
    assert app["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://jaeger:")
