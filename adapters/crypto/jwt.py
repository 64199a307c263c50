from __future__ import annotations

import datetime as dt
import math
from typing import Any

import jwt

from domain.shared.ids import UserId
from domain.users.errors import InvalidToken
from domain.users.model import Role
from domain.users.tokens import AccessClaims, RefreshClaims

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32


class JwtTokenCodec:
    """HS256 JWTs (PyJWT).  ``typ`` separates access from refresh tokens; ``iss`` and ``aud`` pin them
    to this deployment.  Expiry is checked against the injected time, not the wall clock."""

    def __init__(self, secret: str, issuer: str = "confero", audience: str = "confero") -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience

    def encode_access(self, claims: AccessClaims) -> str:
        return self._encode({"typ": "access", "sub": claims.user_id, "role": claims.role.value,
                             "sid": claims.session_id, "jti": claims.token_id, "sv": claims.security_version},
                            claims.issued_at, claims.expires_at)

    def encode_refresh(self, claims: RefreshClaims) -> str:
        return self._encode({"typ": "refresh", "sub": claims.user_id, "sid": claims.session_id,
                             "jti": claims.token_id}, claims.issued_at, claims.expires_at)

    def decode_access(self, token: str, now: dt.datetime) -> AccessClaims:
        body = self._decode(token, "access", now)
        try:
            role = Role(body["role"])
        except (KeyError, ValueError):
            raise InvalidToken("token is malformed") from None
        # Tokens issued before security versions existed carry none: their sessions are at version 0.
        version = body.get("sv", 0)
        if type(version) is not int:
            raise InvalidToken("token is malformed")
        return AccessClaims(user_id=UserId(body["sub"]), role=role, session_id=body["sid"],
                            token_id=body["jti"], issued_at=_time(body["iat"]), expires_at=_time(body["exp"]),
                            security_version=version)

    def decode_refresh(self, token: str, now: dt.datetime) -> RefreshClaims:
        body = self._decode(token, "refresh", now)
        return RefreshClaims(user_id=UserId(body["sub"]), session_id=body["sid"], token_id=body["jti"],
                             issued_at=_time(body["iat"]), expires_at=_time(body["exp"]))

    def _encode(self, body: dict[str, Any], issued: dt.datetime, expires: dt.datetime) -> str:
        body |= {"iss": self._issuer, "aud": self._audience, "iat": _stamp(issued), "exp": _stamp(expires)}
        return jwt.encode(body, self._secret, algorithm=ALGORITHM)

    def _decode(self, token: str, kind: str, now: dt.datetime) -> dict[str, Any]:
        if not isinstance(token, str) or len(token) > 4096:
            raise InvalidToken("token is malformed")
        try:
            body = jwt.decode(token, self._secret, algorithms=[ALGORITHM], audience=self._audience,
                              issuer=self._issuer, options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                                            "require": ["exp", "iat", "sub", "jti", "sid", "typ"]})
        except jwt.PyJWTError:
            raise InvalidToken("token is invalid") from None
        if body.get("typ") != kind:
            raise InvalidToken(f"not an {kind} token" if kind == "access" else f"not a {kind} token")
        if not all(isinstance(body.get(k), str) for k in ("sub", "jti", "sid")):
            raise InvalidToken("token is malformed")
        if not isinstance(body.get("exp"), (int, float)) or not isinstance(body.get("iat"), (int, float)):
            raise InvalidToken("token is malformed")
        if _time(body["exp"]) <= now:
            raise InvalidToken("token has expired")
        return body


def _stamp(t: dt.datetime) -> float:
    return t.timestamp()


def _time(stamp: float) -> dt.datetime:
    # A well-signed token can still carry an absurd time (1e20, NaN): malformed, not a crash.
    if not math.isfinite(stamp):
        raise InvalidToken("token is malformed")
    try:
        return dt.datetime.fromtimestamp(stamp, tz=dt.timezone.utc)
    except (OverflowError, ValueError, OSError):
        raise InvalidToken("token is malformed") from None
