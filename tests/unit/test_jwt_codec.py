from __future__ import annotations

import base64
import datetime as dt
import json

import attrs
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.crypto.jwt import JwtTokenCodec
from domain.users.errors import InvalidToken
from domain.users.model import Role
from domain.users.tokens import AccessClaims, RefreshClaims

SECRET = "a-unit-test-secret-of-at-least-32-bytes!"
NOW = dt.datetime(2030, 1, 7, 9, 0, 0, 250_001, tzinfo=dt.timezone.utc)
TTL = dt.timedelta(minutes=15)


def access_claims(now: dt.datetime = NOW, role: Role = Role.USER) -> AccessClaims:
    return AccessClaims(user_id="user-1", role=role, session_id="session-1", token_id="token-1",
                        issued_at=now, expires_at=now + TTL)


def refresh_claims(now: dt.datetime = NOW) -> RefreshClaims:
    return RefreshClaims(user_id="user-1", session_id="session-1", token_id="refresh-1", issued_at=now,
                         expires_at=now + dt.timedelta(days=7))


def raw_token(secret: str = SECRET, **overrides) -> str:
    body = {"typ": "access", "sub": "user-1", "role": "user", "sid": "session-1", "jti": "token-1",
            "iss": "confero", "aud": "confero", "iat": NOW.timestamp(), "exp": (NOW + TTL).timestamp()}
    body.update(overrides)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, secret, algorithm="HS256")


@pytest.fixture
def codec() -> JwtTokenCodec:
    return JwtTokenCodec(SECRET)


def test_an_access_token_decodes_to_the_claims_it_was_made_from(codec):
    for role in Role:
        claims = attrs.evolve(access_claims(role=role), security_version=41)
        assert codec.decode_access(codec.encode_access(claims), NOW) == claims


def test_an_access_token_from_before_security_versions_is_at_version_0(codec):
    assert codec.decode_access(raw_token(), NOW).security_version == 0


def test_a_refresh_token_decodes_to_the_claims_it_was_made_from(codec):
    claims = refresh_claims()
    assert codec.decode_refresh(codec.encode_refresh(claims), NOW) == claims


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2200, 1, 1),
                    timezones=st.just(dt.timezone.utc)))
def test_issue_and_expiry_times_survive_the_round_trip_to_the_microsecond(now):
    codec = JwtTokenCodec(SECRET)
    claims = access_claims(now)
    assert codec.decode_access(codec.encode_access(claims), now) == claims


@pytest.mark.parametrize("short", ["", "x", "s" * 31, "é" * 15])
def test_a_secret_shorter_than_32_bytes_is_refused(short):
    with pytest.raises(ValueError):
        JwtTokenCodec(short)


def test_a_secret_of_32_bytes_counted_in_utf8_is_accepted():
    JwtTokenCodec("é" * 16)


def test_a_token_with_a_tampered_signature_is_invalid(codec):
    token = codec.encode_access(access_claims())
    head, body, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(InvalidToken):
        codec.decode_access(f"{head}.{body}.{flipped}", NOW)


def test_a_token_with_a_tampered_payload_is_invalid(codec):
    token = codec.encode_access(access_claims())
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        codec.decode_access(f"{head}.{forged}.{signature}", NOW)


def test_a_token_signed_with_another_secret_is_invalid(codec):
    other = JwtTokenCodec("another-secret-that-is-also-32-bytes-long")
    with pytest.raises(InvalidToken):
        codec.decode_access(other.encode_access(access_claims()), NOW)
    with pytest.raises(InvalidToken):
        codec.decode_refresh(other.encode_refresh(refresh_claims()), NOW)


def test_a_token_of_another_issuer_or_audience_is_invalid(codec):
    for other in (JwtTokenCodec(SECRET, issuer="elsewhere"), JwtTokenCodec(SECRET, audience="elsewhere")):
        with pytest.raises(InvalidToken):
            codec.decode_access(other.encode_access(access_claims()), NOW)


def test_an_unsigned_token_is_invalid(codec):
    unsigned = jwt.encode(jwt.decode(codec.encode_access(access_claims()), options={"verify_signature": False}),
                          key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        codec.decode_access(unsigned, NOW)


def test_an_access_token_is_not_a_refresh_token_and_vice_versa(codec):
    with pytest.raises(InvalidToken, match="not a refresh token"):
        codec.decode_refresh(codec.encode_access(access_claims()), NOW)
    with pytest.raises(InvalidToken, match="not an access token"):
        codec.decode_access(codec.encode_refresh(refresh_claims()), NOW)


def test_a_token_of_an_unknown_type_is_invalid(codec):
    with pytest.raises(InvalidToken):
        codec.decode_access(raw_token(typ="id"), NOW)


def test_a_token_is_valid_until_just_before_its_expiry_and_invalid_at_it(codec):
    claims = access_claims()
    token = codec.encode_access(claims)
    assert codec.decode_access(token, claims.expires_at - dt.timedelta(microseconds=1)) == claims
    with pytest.raises(InvalidToken, match="expired"):
        codec.decode_access(token, claims.expires_at)
    with pytest.raises(InvalidToken, match="expired"):
        codec.decode_access(token, claims.expires_at + dt.timedelta(days=1))


def test_expiry_is_judged_by_the_injected_time_not_the_wall_clock(codec):
    long_ago = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    claims = access_claims(long_ago)
    assert codec.decode_access(codec.encode_access(claims), long_ago) == claims


@pytest.mark.parametrize("malformed", [
    "", "abc", "a.b", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 5000, "🙂.🙂.🙂",
])
def test_a_malformed_string_is_an_invalid_token(codec, malformed):
    with pytest.raises(InvalidToken):
        codec.decode_access(malformed, NOW)
    with pytest.raises(InvalidToken):
        codec.decode_refresh(malformed, NOW)


@pytest.mark.parametrize("not_a_string", [None, 42, b"bytes"])
def test_something_that_is_not_a_string_is_an_invalid_token(codec, not_a_string):
    with pytest.raises(InvalidToken):
        codec.decode_access(not_a_string, NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("overrides", [
    {"sub": None}, {"jti": None}, {"sid": None}, {"exp": None}, {"iat": None}, {"typ": None},
    {"role": None}, {"role": "superuser"}, {"sid": 7}, {"exp": "tomorrow"}, {"iat": "today"},
    {"sv": "3"}, {"sv": 1.5}, {"sv": True},
])
def test_a_correctly_signed_token_with_missing_or_mistyped_claims_is_invalid(codec, overrides):
    with pytest.raises(InvalidToken):
        codec.decode_access(raw_token(**overrides), NOW)


@pytest.mark.parametrize("overrides", [{"exp": 1e20}, {"iat": 1e20}, {"exp": float("nan")}])
def test_a_correctly_signed_token_with_an_impossible_time_is_invalid_not_a_crash(codec, overrides):
    with pytest.raises(InvalidToken):
        codec.decode_access(raw_token(**overrides), NOW)


@given(st.text(max_size=300))
def test_no_string_makes_decoding_raise_anything_but_invalid_token(text):
    codec = JwtTokenCodec(SECRET)
    with pytest.raises(InvalidToken):
        codec.decode_access(text, NOW)
