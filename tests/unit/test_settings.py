"""Configuration: the documented defaults, and every bad value a one-line message with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runners.settings import AdapterFamily, ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-jwt-secret-that-is-long-enough-0123456789"
PRODUCTION = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": SECRET,
              "APP_POSTGRES_DSN": "postgresql://app@127.0.0.1:1/confero", "APP_REDIS_URL": "redis://127.0.0.1:1/0"}


def test_the_defaults_are_the_documented_ones() -> None:
    s = Settings.from_env({})
    assert (s.host, s.port, s.adapters, s.postgres_dsn, s.redis_url) == ("127.0.0.1", 8800, AdapterFamily.MEMORY, "", "")
    assert (s.access_token_ttl, s.refresh_token_ttl, s.cors_origins, s.max_body_bytes) == (900, 604800, (), 65536)
    assert (s.login_max_failures, s.login_window_seconds, s.trust_forwarded_for, s.trusted_proxy_hops) == (5, 900, False, 1)
    assert (s.log_level, s.log_format, s.fast_password_hashing) == ("INFO", "json", False)
    assert (s.ws_origins, s.ws_auth_timeout, s.ws_max_frame_bytes, s.ws_rate_per_second, s.ws_burst) == (
        (), 5, 65536, 20, 60)
    assert (s.member_ttl_seconds, s.reconnect_grace_seconds, s.ice_servers, s.turn_urls, s.turn_ttl) == (
        15, 10, (), (), 3600)
    assert s.media_host_addresses == () and len(s.jwt_secret) >= 32 and s.instance_id
    assert Settings.from_env({}).jwt_secret != s.jwt_secret  # embedded: a fresh key per process


def test_values_are_parsed_as_documented() -> None:
    s = Settings.from_env({"APP_CORS_ORIGINS": "https://a.example, https://b.example", "APP_ADAPTERS": " Production ",
                           "APP_JWT_SECRET": SECRET, "APP_POSTGRES_DSN": "postgresql://db/x",
                           "APP_REDIS_URL": "redis://cache/0", "APP_ICE_SERVERS": '[{"urls": ["stun:s.example"]}]',
                           "APP_LOG_LEVEL": "debug", "APP_PORT": "", "APP_TRUST_FORWARDED_FOR": "yes",
                           "APP_WS_RATE": "7", "APP_SIGNALING_MEMBER_TTL": "30", "APP_SIGNALING_GRACE": "0"})
    assert s.cors_origins == s.ws_origins == ("https://a.example", "https://b.example")
    assert s.adapters is AdapterFamily.PRODUCTION and s.ice_servers == ({"urls": ["stun:s.example"]},)
    assert (s.log_level, s.port, s.trust_forwarded_for) == ("DEBUG", 8800, True)
    assert (s.ws_rate_per_second, s.member_ttl_seconds, s.reconnect_grace_seconds) == (7, 30, 0)
    assert SECRET not in repr(s) and "redis://cache" not in repr(s)


BAD = {
    "APP_LOG_LEVEL": "LOUD", "APP_LOG_FORMAT": "xml", "APP_PORT": "eighty", "APP_ADAPTERS": "prod",
    "APP_ACCESS_TOKEN_TTL": "5", "APP_MAX_BODY_BYTES": "-1", "APP_TRUST_FORWARDED_FOR": "maybe",
    "APP_TRUSTED_PROXY_HOPS": "0", "APP_WS_BURST": "0", "APP_SIGNALING_MEMBER_TTL": "2",
    "APP_ICE_SERVERS": "[{", "APP_TURN_TTL": "1e9", "APP_FAST_PASSWORD_HASHING": "2",
}


@pytest.mark.parametrize("name,value", BAD.items(), ids=BAD.keys())
def test_a_bad_value_is_a_one_line_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({name: value})
    message = str(err.value)
    assert name in message and "\n" not in message


@pytest.mark.parametrize("missing", ["APP_JWT_SECRET", "APP_POSTGRES_DSN", "APP_REDIS_URL"])
def test_production_refuses_to_start_without_its_secrets_and_servers(missing: str) -> None:
    with pytest.raises(ConfigError, match=missing):
        Settings.from_env({k: v for k, v in PRODUCTION.items() if k != missing})
    with pytest.raises(ConfigError, match="APP_FAST_PASSWORD_HASHING"):
        Settings.from_env(PRODUCTION | {"APP_FAST_PASSWORD_HASHING": "true"})


def test_every_problem_is_reported_at_once_and_secrets_are_never_echoed() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"APP_PORT": "x", "APP_LOG_LEVEL": "LOUD"})
    assert "APP_PORT" in str(err.value) and "APP_LOG_LEVEL" in str(err.value)
    with pytest.raises(ConfigError) as err:  # once every value parses, the rules between them
        Settings.from_env({"APP_JWT_SECRET": "hunter2", "APP_ADMIN_USERNAME": "root"})
    assert "APP_JWT_SECRET" in str(err.value) and "APP_ADMIN_USERNAME" in str(err.value)
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize("env", [{"APP_LOG_LEVEL": "LOUD"}, {"APP_ADAPTERS": "production"}, {"APP_PORT": "x"}],
                         ids=["log level", "production without secrets", "port"])
def test_the_process_exits_2_with_one_line_and_no_traceback(env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    done = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, env=clean | env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_a_taken_port_is_a_one_line_start_error_with_exit_3() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
        done = subprocess.run([sys.executable, "-m", "runners.allinone"], cwd=ROOT, timeout=60, capture_output=True,
                              text=True, env=clean | {"APP_PORT": str(port), "APP_LOG_FORMAT": "text"})
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and "cannot start:" in done.stderr


def test_a_task_that_ignores_cancellation_cannot_hold_the_stop() -> None:
    """The last bound of the shutdown: leftovers get APP_SHUTDOWN_TIMEOUT, then the process ends anyway."""
    script = """
import asyncio, sys
import runners.serve as serve

async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # a reader that swallows its cancellation

async def fake_serve(settings, tags):
    asyncio.get_running_loop().create_task(stubborn(), name="stubborn-reader")
    await asyncio.sleep(0)

serve.serve = fake_serve
sys.exit(serve.main())
"""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APP_")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=60, capture_output=True, text=True,
                          env=clean | {"APP_SHUTDOWN_TIMEOUT": "1", "APP_LOG_FORMAT": "json"})
    assert done.returncode == 1, done.stderr
    assert "stubborn-reader" in done.stderr and "ignored their cancellation" in done.stderr
