"""Webhook signing, target rules, retry and disable policies (pure domain)."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from domain.webhooks.errors import InvalidWebhookEndpoint
from domain.webhooks.model import DisablePolicy, RetryPolicy, WebhookEndpoint, check_kinds
from domain.webhooks.signing import new_secret, signature_header, verify
from domain.webhooks.urls import TargetRules

PRODUCTION, DEVELOPMENT = TargetRules(), TargetRules(require_https=False, allow_private=True)
NOW = 1_767_225_600
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def test_a_signature_verifies_only_with_the_secret_the_body_and_a_fresh_timestamp():
    secret, body = new_secret(), b'{"type":"meeting.started"}'
    header = signature_header(secret, NOW, body)
    assert verify(secret, header, body, NOW + 299)
    assert not verify(secret, header, body, NOW + 301)  # a replay after the tolerance
    assert not verify(new_secret(), header, body, NOW)
    assert not verify(secret, header, body + b" ", NOW)
    forged_time = header.replace(f"t={NOW}", f"t={NOW + 100}")
    assert not verify(secret, forged_time, body, NOW + 100)
    for junk in ("", "v1=abc", "t=x,v1=abc", f"t={NOW},t={NOW},v1=abc"):
        assert not verify(secret, junk, body, NOW)


@pytest.mark.parametrize("url", ["https://hooks.example.com/in", "https://93.184.216.34:8443/x?y=1",
                                 "https://[2606:4700::1]/hook"])
def test_production_accepts_https_to_public_targets(url):
    assert PRODUCTION.check_url(url) == url


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/in", "http://127.0.0.1:8080/", "https://127.0.0.1/", "https://10.1.2.3/",
    "https://192.168.0.10/", "https://169.254.169.254/latest/meta-data", "https://[::1]/", "https://100.64.0.1/",
    "https://[::ffff:10.0.0.1]/", "https://0.0.0.0/", "https://localhost/", "https://db.internal/",
    "https://user:pass@hooks.example.com/", "https://hooks.example.com/#frag", "ftp://hooks.example.com/",
    "hooks.example.com", "https://", "https://exa mple.com/", "https://hooks.example.com:99999/",
])
def test_production_refuses_plain_http_private_addresses_and_odd_urls(url):
    with pytest.raises(InvalidWebhookEndpoint):
        PRODUCTION.check_url(url)


def test_development_allows_http_only_to_loopback():
    assert DEVELOPMENT.check_url("http://127.0.0.1:9000/hook") == "http://127.0.0.1:9000/hook"
    assert DEVELOPMENT.check_url("http://localhost:9000/hook")
    with pytest.raises(InvalidWebhookEndpoint):
        DEVELOPMENT.check_url("http://hooks.example.com/")


def test_resolved_addresses_are_checked_by_the_same_rules():
    for address in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00::1", "224.0.0.1"):
        assert not PRODUCTION.address_allowed(ipaddress.ip_address(address)), address
    assert PRODUCTION.address_allowed(ipaddress.ip_address("93.184.216.34"))
    assert DEVELOPMENT.address_allowed(ipaddress.ip_address("127.0.0.1"))


def test_kinds_are_known_ones_sorted_without_repeats():
    assert check_kinds(["meeting.started", "meeting.ended", "meeting.started"]) == ("meeting.ended", "meeting.started")
    for bad in ([], ["meeting.created"]):
        with pytest.raises(InvalidWebhookEndpoint):
            check_kinds(bad)


def test_retry_delays_grow_exponentially_are_capped_and_jittered_within_half():
    policy = RetryPolicy(base=dt.timedelta(seconds=10), cap=dt.timedelta(seconds=60))
    assert [policy.delay(n, 0.0).total_seconds() for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]
    assert [policy.delay(n, 0.999999).total_seconds() for n in (1, 2)] == pytest.approx([10, 20], abs=1e-3)


def test_an_endpoint_is_disabled_only_by_enough_failures_over_the_window():
    endpoint = WebhookEndpoint(id="e", url="https://x.example.com/", kinds=("meeting.started",), secret="s",
                               created_at=T0, updated_at=T0)
    policy = DisablePolicy(failures=3, window=dt.timedelta(hours=1))
    assert not any(endpoint.failed(T0 + dt.timedelta(minutes=m), policy) for m in (0, 1, 2, 3))
    endpoint.succeeded()
    assert [endpoint.failed(T0 + dt.timedelta(minutes=m), policy) for m in (10, 40, 70)] == [False, False, True]
    assert not endpoint.enabled and "3 consecutive failed deliveries" in endpoint.disabled_reason
    endpoint.change(now=T0, enabled=True)
    assert (endpoint.enabled, endpoint.consecutive_failures, endpoint.disabled_reason) == (True, 0, None)


def test_the_process_picks_production_rules_in_production_mode():
    from runners.containers import _webhook_rules
    from runners.settings import Settings

    production = {"APP_ADAPTERS": "production", "APP_JWT_SECRET": "x" * 40,
                  "APP_POSTGRES_DSN": "postgresql://app@db/confero", "APP_REDIS_URL": "redis://cache:6379/0"}
    assert _webhook_rules(Settings.from_env(production)) == TargetRules(require_https=True, allow_private=False)
    assert _webhook_rules(Settings.from_env(production | {"APP_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"})) == \
        TargetRules(require_https=True, allow_private=True)
    assert _webhook_rules(Settings.from_env({})) == DEVELOPMENT
