"""room_state.ice_servers: APP_ICE_SERVERS plus short-lived TURN credentials (coturn's REST convention)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from runners.settings import ConfigError, Settings
from runners.signaling.ice import ice_servers_for, turn_credentials

SECRET = "jwt-secret-that-is-long-enough-0123456789"


def test_turn_credentials_follow_the_coturn_rest_convention() -> None:
    creds = turn_credentials(("turn:turn.example.org:3478", "turns:turn.example.org:5349"), "s3cret",
                             "aaaaaaaa-0000-4000-8000-000000000001", now=1_900_000_000, ttl=3600)
    assert creds["urls"] == ["turn:turn.example.org:3478", "turns:turn.example.org:5349"]
    assert creds["username"] == "1900003600:aaaaaaaa-0000-4000-8000-000000000001"
    expected = base64.b64encode(hmac.new(b"s3cret", creds["username"].encode(), hashlib.sha1).digest()).decode()
    assert creds["credential"] == expected
    assert creds["credential"] == "km31Gg4aXgNdjSJuISHhUxPZJQg="  # openssl dgst -sha1 -hmac s3cret -binary | base64


def test_ice_servers_add_turn_credentials_only_when_turn_is_configured() -> None:
    plain = Settings.from_env({"APP_JWT_SECRET": SECRET, "APP_ICE_SERVERS": '[{"urls": ["stun:s.example.org"]}]'})
    assert ice_servers_for(plain, "u", 100) == [{"urls": ["stun:s.example.org"]}]
    turn = Settings.from_env({"APP_JWT_SECRET": SECRET, "APP_TURN_URLS": "turn:t.example.org:3478, turns:t.example.org",
                              "APP_TURN_SECRET": "k", "APP_TURN_TTL": "600"})
    (server,) = ice_servers_for(turn, "u", 100)
    assert server["urls"] == ["turn:t.example.org:3478", "turns:t.example.org"]
    assert server["username"] == "700:u"


def test_turn_urls_without_a_secret_refuse_to_start() -> None:
    with pytest.raises(ConfigError, match="APP_TURN_SECRET"):
        Settings.from_env({"APP_JWT_SECRET": SECRET, "APP_TURN_URLS": "turn:t.example.org"})
