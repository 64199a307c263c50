"""Process configuration from ``APP_*`` environment variables (documented in the README).

Embedded (``APP_ADAPTERS=memory``, the default) needs nothing.  Production refuses to start without its
secrets and servers: a missing value is a start-up error, never a silent fallback.
"""

from __future__ import annotations

import enum
import json
import secrets
from collections.abc import Mapping

from attrs import field, frozen


class ConfigError(Exception):
    pass


class AdapterFamily(enum.Enum):
    MEMORY = "memory"
    PRODUCTION = "production"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@frozen(kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8800
    adapters: AdapterFamily = AdapterFamily.MEMORY
    jwt_secret: str = field(repr=False)
    postgres_dsn: str = field(default="", repr=False)
    redis_url: str = field(default="", repr=False)
    sqlite_path: str = ""
    access_token_ttl: int = 900
    refresh_token_ttl: int = 7 * 24 * 3600
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"
    log_format: str = "json"
    fast_password_hashing: bool = False
    trust_forwarded_for: bool = False
    login_max_failures: int = 5
    login_window_seconds: int = 900
    login_account_max_failures: int = 20
    login_address_max_failures: int = 50
    registrations_per_address: int = 20
    password_hash_concurrency: int = 0
    password_hash_queue: int = 64
    admin_username: str = ""
    admin_email: str = ""
    admin_password: str = field(default="", repr=False)
    ws_origins: tuple[str, ...] = ()
    ws_auth_timeout: int = 5
    ws_max_frame_bytes: int = 64 * 1024
    ws_rate_per_second: int = 20
    ws_burst: int = 60
    member_ttl_seconds: int = 15
    event_max_attempts: int = 5
    reconnect_grace_seconds: int = 10
    ice_servers: tuple[dict, ...] = ()  # type: ignore[type-arg]
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    turn_ttl: int = 3600
    media_host_addresses: tuple[str, ...] = ()
    instance_id: str = field(factory=lambda: secrets.token_hex(4))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        try:
            family = AdapterFamily(env.get("APP_ADAPTERS", "memory").strip().lower() or "memory")
        except ValueError:
            raise ConfigError("APP_ADAPTERS must be 'memory' or 'production'") from None
        production = family is AdapterFamily.PRODUCTION
        secret = env.get("APP_JWT_SECRET", "")
        if not secret:
            if production:
                raise ConfigError("APP_JWT_SECRET is required in production (at least 32 bytes)")
            secret = secrets.token_urlsafe(48)  # embedded: a fresh key per process
        if len(secret.encode()) < 32:
            raise ConfigError("APP_JWT_SECRET must be at least 32 bytes")
        fast = _bool(env, "APP_FAST_PASSWORD_HASHING", False)
        if production:
            for name in ("APP_POSTGRES_DSN", "APP_REDIS_URL"):
                if not env.get(name):
                    raise ConfigError(f"{name} is required when APP_ADAPTERS=production")
            if fast:
                raise ConfigError("APP_FAST_PASSWORD_HASHING is for tests and is refused in production")
        sqlite_path = env.get("APP_SQLITE_PATH", "").strip()
        if sqlite_path and production:
            raise ConfigError("APP_SQLITE_PATH is for APP_ADAPTERS=memory (production keeps its data in PostgreSQL)")
        log_format = env.get("APP_LOG_FORMAT", "json").strip().lower()
        if log_format not in ("json", "text"):
            raise ConfigError("APP_LOG_FORMAT must be 'json' or 'text'")
        admin = (env.get("APP_ADMIN_USERNAME", ""), env.get("APP_ADMIN_EMAIL", ""), env.get("APP_ADMIN_PASSWORD", ""))
        if any(admin) and not all(admin):
            raise ConfigError("APP_ADMIN_USERNAME, APP_ADMIN_EMAIL and APP_ADMIN_PASSWORD go together")
        origins = tuple(o.strip() for o in env.get("APP_CORS_ORIGINS", "").split(",") if o.strip())
        ws_origins = tuple(o.strip() for o in env.get("APP_WS_ORIGINS", "").split(",") if o.strip()) or origins
        try:
            ice = json.loads(env.get("APP_ICE_SERVERS", "") or "[]")
        except ValueError:
            raise ConfigError("APP_ICE_SERVERS must be a JSON list of RTCIceServer objects") from None
        if not isinstance(ice, list) or not all(isinstance(i, dict) and "urls" in i for i in ice):
            raise ConfigError("APP_ICE_SERVERS must be a JSON list of objects with 'urls'")
        media_hosts = tuple(a.strip() for a in env.get("APP_MEDIA_HOST_ADDRESSES", "").split(",") if a.strip())
        turn_urls = tuple(u.strip() for u in env.get("APP_TURN_URLS", "").split(",") if u.strip())
        if turn_urls and not env.get("APP_TURN_SECRET"):
            raise ConfigError("APP_TURN_SECRET is required when APP_TURN_URLS is set")
        return cls(
            host=env.get("APP_HOST", "127.0.0.1"),
            port=_int(env, "APP_PORT", 8800, 0, 65535),
            adapters=family,
            jwt_secret=secret,
            postgres_dsn=env.get("APP_POSTGRES_DSN", ""),
            redis_url=env.get("APP_REDIS_URL", ""),
            sqlite_path=sqlite_path,
            access_token_ttl=_int(env, "APP_ACCESS_TOKEN_TTL", 900, 30, 24 * 3600),
            refresh_token_ttl=_int(env, "APP_REFRESH_TOKEN_TTL", 7 * 24 * 3600, 300, 90 * 24 * 3600),
            cors_origins=origins,
            max_body_bytes=_int(env, "APP_MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
            log_level=env.get("APP_LOG_LEVEL", "INFO").upper(),
            log_format=log_format,
            fast_password_hashing=fast,
            trust_forwarded_for=_bool(env, "APP_TRUST_FORWARDED_FOR", False),
            login_max_failures=_int(env, "APP_LOGIN_MAX_FAILURES", 5, 1, 1000),
            login_window_seconds=_int(env, "APP_LOGIN_WINDOW_SECONDS", 900, 1, 24 * 3600),
            login_account_max_failures=_int(env, "APP_LOGIN_ACCOUNT_MAX_FAILURES", 20, 1, 100_000),
            login_address_max_failures=_int(env, "APP_LOGIN_ADDRESS_MAX_FAILURES", 50, 1, 100_000),
            registrations_per_address=_int(env, "APP_REGISTRATIONS_PER_ADDRESS", 20, 1, 100_000),
            password_hash_concurrency=_int(env, "APP_PASSWORD_HASH_CONCURRENCY", 0, 0, 256),
            password_hash_queue=_int(env, "APP_PASSWORD_HASH_QUEUE", 64, 0, 100_000),
            admin_username=admin[0],
            admin_email=admin[1],
            admin_password=admin[2],
            ws_origins=ws_origins,
            ws_auth_timeout=_int(env, "APP_WS_AUTH_TIMEOUT", 5, 1, 60),
            ws_max_frame_bytes=_int(env, "APP_WS_MAX_FRAME_BYTES", 64 * 1024, 1024, 1024 * 1024),
            ws_rate_per_second=_int(env, "APP_WS_RATE", 20, 1, 10_000),
            ws_burst=_int(env, "APP_WS_BURST", 60, 1, 100_000),
            member_ttl_seconds=_int(env, "APP_SIGNALING_MEMBER_TTL", 15, 3, 600),
            event_max_attempts=_int(env, "APP_EVENT_MAX_ATTEMPTS", 5, 1, 1000),
            reconnect_grace_seconds=_int(env, "APP_SIGNALING_GRACE", 10, 0, 600),
            ice_servers=tuple(ice),
            media_host_addresses=media_hosts,
            turn_urls=turn_urls,
            turn_secret=env.get("APP_TURN_SECRET", ""),
            turn_ttl=_int(env, "APP_TURN_TTL", 3600, 60, 7 * 24 * 3600),
            instance_id=env.get("APP_INSTANCE_ID") or secrets.token_hex(4),
        )
