"""Process configuration from ``APP_*`` environment variables (documented in the README).

Embedded (``APP_ADAPTERS=memory``, the default) needs nothing.  Production refuses to start without its
secrets and servers: a missing value is a start-up error, never a silent fallback.  Every bad value is
reported (all of them, on one line, never echoing a secret) as a ConfigError; ``runners.serve`` prints it
and exits with code 2.

pydantic-settings reads the variables (``Settings()`` reads the process environment); ``from_env`` takes
any mapping, which is how tests and the runners hand it over.  An empty variable counts as unset.
"""

from __future__ import annotations

import enum
import json
import re
import resource
import secrets
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRETS = frozenset({"APP_JWT_SECRET", "APP_ADMIN_PASSWORD", "APP_TURN_SECRET", "APP_POSTGRES_DSN", "APP_REDIS_URL",
                     "APP_S3_ACCESS_KEY", "APP_S3_SECRET_KEY", "APP_MONGO_URL", "APP_AI_SERVICE_TOKENS",
                     "APP_SERVICE_SECRETS", "APP_CAPTIONS_SERVICE_TOKEN",
                     # notification secrets (issue 13)
                     "APP_SMTP_PASSWORD", "APP_SMS_AUTH_TOKEN", "APP_VAPID_PRIVATE_KEY"})


class ConfigError(Exception):
    pass


class AdapterFamily(enum.Enum):
    MEMORY = "memory"
    PRODUCTION = "production"


def _comma_list(raw: Any) -> Any:
    if isinstance(raw, str):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


def _word(raw: Any) -> Any:
    return raw.strip().lower() if isinstance(raw, str) else raw


def _env(name: str, **field: Any) -> Any:
    """A field read from ``name`` (and, for settings made in code, from its own name)."""
    return Field(validation_alias=AliasChoices(name, field.pop("python_name", name.removeprefix("APP_").lower())),
                 **field)


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, extra="ignore", case_sensitive=True,
                                      populate_by_name=True)

    host: str = _env("APP_HOST", default="127.0.0.1")
    port: int = _env("APP_PORT", default=8800, ge=0, le=65535)
    adapters: Annotated[AdapterFamily, BeforeValidator(_word)] = _env("APP_ADAPTERS", default=AdapterFamily.MEMORY)
    jwt_secret: str = _env("APP_JWT_SECRET", default="", repr=False)
    postgres_dsn: str = _env("APP_POSTGRES_DSN", default="", repr=False)
    redis_url: str = _env("APP_REDIS_URL", default="", repr=False)
    sqlite_path: str = _env("APP_SQLITE_PATH", default="")
    access_token_ttl: int = _env("APP_ACCESS_TOKEN_TTL", default=900, ge=30, le=24 * 3600)
    refresh_token_ttl: int = _env("APP_REFRESH_TOKEN_TTL", default=7 * 24 * 3600, ge=300, le=90 * 24 * 3600)
    cors_origins: CommaList = _env("APP_CORS_ORIGINS", default=())
    max_body_bytes: int = _env("APP_MAX_BODY_BYTES", default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    log_level: Annotated[str, BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v)] = _env(
        "APP_LOG_LEVEL", default="INFO")
    log_format: Annotated[str, BeforeValidator(_word)] = _env("APP_LOG_FORMAT", default="json")
    fast_password_hashing: bool = _env("APP_FAST_PASSWORD_HASHING", default=False)
    trust_forwarded_for: bool = _env("APP_TRUST_FORWARDED_FOR", default=False)
    trusted_proxy_hops: int = _env("APP_TRUSTED_PROXY_HOPS", default=1, ge=1, le=10)
    login_max_failures: int = _env("APP_LOGIN_MAX_FAILURES", default=5, ge=1, le=1000)
    login_window_seconds: int = _env("APP_LOGIN_WINDOW_SECONDS", default=900, ge=1, le=24 * 3600)
    login_account_max_failures: int = _env("APP_LOGIN_ACCOUNT_MAX_FAILURES", default=20, ge=1, le=100_000)
    login_address_max_failures: int = _env("APP_LOGIN_ADDRESS_MAX_FAILURES", default=50, ge=1, le=100_000)
    registrations_per_address: int = _env("APP_REGISTRATIONS_PER_ADDRESS", default=20, ge=1, le=100_000)
    password_hash_concurrency: int = _env("APP_PASSWORD_HASH_CONCURRENCY", default=0, ge=0, le=256)
    password_hash_queue: int = _env("APP_PASSWORD_HASH_QUEUE", default=64, ge=0, le=100_000)
    admin_username: str = _env("APP_ADMIN_USERNAME", default="")
    admin_email: str = _env("APP_ADMIN_EMAIL", default="")
    admin_password: str = _env("APP_ADMIN_PASSWORD", default="", repr=False)
    ws_origins: CommaList = _env("APP_WS_ORIGINS", default=())
    ws_auth_timeout: int = _env("APP_WS_AUTH_TIMEOUT", default=5, ge=1, le=60)
    ws_max_frame_bytes: int = _env("APP_WS_MAX_FRAME_BYTES", default=64 * 1024, ge=1024, le=1024 * 1024)
    ws_rate_per_second: int = _env("APP_WS_RATE", python_name="ws_rate_per_second", default=20, ge=1, le=10_000)
    ws_burst: int = _env("APP_WS_BURST", default=60, ge=1, le=100_000)
    ws_max_sockets_per_user: int = _env("APP_WS_MAX_SOCKETS_PER_USER", default=20, ge=1, le=10_000)
    ws_max_rooms_per_socket: int = _env("APP_WS_MAX_ROOMS_PER_SOCKET", default=10, ge=1, le=1000)
    event_max_attempts: int = _env("APP_EVENT_MAX_ATTEMPTS", default=5, ge=1, le=1000)
    member_ttl_seconds: int = _env("APP_SIGNALING_MEMBER_TTL", python_name="member_ttl_seconds", default=15,
                                   ge=3, le=600)
    reconnect_grace_seconds: int = _env("APP_SIGNALING_GRACE", python_name="reconnect_grace_seconds", default=10,
                                        ge=0, le=600)
    ice_servers: Annotated[tuple[dict[str, Any], ...], NoDecode] = _env("APP_ICE_SERVERS", default=())
    turn_urls: CommaList = _env("APP_TURN_URLS", default=())
    turn_secret: str = _env("APP_TURN_SECRET", default="", repr=False)
    turn_ttl: int = _env("APP_TURN_TTL", default=3600, ge=60, le=7 * 24 * 3600)
    media_host_addresses: CommaList = _env("APP_MEDIA_HOST_ADDRESSES", default=())
    meeting_password_max_guesses: int = _env("APP_MEETING_PASSWORD_MAX_GUESSES", default=5, ge=1, le=1000)
    meeting_password_max_guesses_per_meeting: int = _env("APP_MEETING_PASSWORD_MAX_GUESSES_PER_MEETING", default=100,
                                                         ge=1, le=1_000_000)
    meeting_password_window_seconds: int = _env("APP_MEETING_PASSWORD_WINDOW_SECONDS", default=900, ge=1,
                                                le=24 * 3600)
    max_open_meetings_per_user: int = _env("APP_MAX_OPEN_MEETINGS_PER_USER", default=50, ge=1, le=1_000_000)
    max_invitations_per_meeting: int = _env("APP_MAX_INVITATIONS_PER_MEETING", default=1000, ge=1, le=1_000_000)
    media_max_sections_per_offer: int = _env("APP_MEDIA_MAX_SECTIONS_PER_OFFER", default=8, ge=1, le=64)
    media_max_sections_per_member: int = _env("APP_MEDIA_MAX_SECTIONS_PER_MEMBER", default=16, ge=1, le=256)
    media_max_sections_per_connection: int = _env("APP_MEDIA_MAX_SECTIONS_PER_CONNECTION", default=24, ge=2, le=256)
    media_allow_mdns: bool = _env("APP_MEDIA_ALLOW_MDNS", default=False)
    media_last_n: int = _env("APP_MEDIA_LAST_N", default=0, ge=0, le=100)
    # Bandwidth estimation and simulcast layer choice per subscriber (docs/signaling.md 13.11).
    media_bandwidth_estimation: bool = _env("APP_MEDIA_BANDWIDTH_ESTIMATION", default=True)
    media_bwe_start_bps: int = _env("APP_MEDIA_BWE_START_BPS", default=1_000_000, ge=100_000, le=50_000_000)
    media_bwe_audio_reserve_bps: int = _env("APP_MEDIA_BWE_AUDIO_RESERVE_BPS", default=64_000, ge=0, le=1_000_000)
    media_layer_up_hold: float = _env("APP_MEDIA_LAYER_UP_HOLD", default=2.5, ge=0.5, le=60)
    media_publish_max_bps: int = _env("APP_MEDIA_PUBLISH_MAX_BPS", default=2_500_000, ge=100_000, le=50_000_000)
    # The SFU's recorder: how often each recorded member's new WebM bytes go to the blob store (what a
    # crash may lose), and the ffmpeg that makes the meeting file after a recording.
    recording_upload_interval: float = _env("APP_RECORDING_UPLOAD_INTERVAL", default=2.0, ge=0.5, le=60)
    recording_ffmpeg: str = _env("APP_RECORDING_FFMPEG", default="ffmpeg", min_length=1)
    instance_id: str = _env("APP_INSTANCE_ID", default_factory=lambda: secrets.token_hex(4))
    # Slow and many clients (runners/web/guard.py); 0 turns a cap off.
    http_header_timeout: float = _env("APP_HTTP_HEADER_TIMEOUT", default=10.0, gt=0, le=600)
    http_idle_timeout: float = _env("APP_HTTP_IDLE_TIMEOUT", default=30.0, gt=0, le=3600)
    http_body_timeout: float = _env("APP_HTTP_BODY_TIMEOUT", default=10.0, gt=0, le=600)
    http_max_connections_per_address: int | None = _env("APP_HTTP_MAX_CONNECTIONS_PER_ADDRESS", default=None,
                                                        ge=0, le=1_000_000)
    http_max_connections: int | None = _env("APP_HTTP_MAX_CONNECTIONS", default=None, ge=0, le=10_000_000)
    shutdown_timeout: float = _env("APP_SHUTDOWN_TIMEOUT", default=10.0, gt=0, le=300)
    # -- notifications (issue 13; README "Notifications") --
    public_url: str = _env("APP_PUBLIC_URL", default="http://127.0.0.1:8800")
    mail_dir: str = _env("APP_MAIL_DIR", default="var/mail")
    mail_from: str = _env("APP_MAIL_FROM", default="Confero <noreply@confero.localhost>")
    smtp_host: str = _env("APP_SMTP_HOST", default="")
    smtp_port: int = _env("APP_SMTP_PORT", default=587, ge=1, le=65535)
    smtp_username: str = _env("APP_SMTP_USERNAME", default="")
    smtp_password: str = _env("APP_SMTP_PASSWORD", default="", repr=False)
    smtp_tls: Annotated[str, BeforeValidator(_word)] = _env("APP_SMTP_TLS", default="starttls")
    sms_url: str = _env("APP_SMS_URL", default="https://api.twilio.com")
    sms_account_sid: str = _env("APP_SMS_ACCOUNT_SID", default="")
    sms_auth_token: str = _env("APP_SMS_AUTH_TOKEN", default="", repr=False)
    sms_from: str = _env("APP_SMS_FROM", default="")
    vapid_private_key: str = _env("APP_VAPID_PRIVATE_KEY", default="", repr=False)
    vapid_public_key: str = _env("APP_VAPID_PUBLIC_KEY", default="")
    vapid_subject: str = _env("APP_VAPID_SUBJECT", default="mailto:admin@confero.localhost")
    notify_max_attempts: int = _env("APP_NOTIFY_MAX_ATTEMPTS", default=6, ge=1, le=100)
    notify_retry_base: float = _env("APP_NOTIFY_RETRY_BASE", default=2.0, gt=0, le=3600)
    notify_rate_limit: int = _env("APP_NOTIFY_RATE_LIMIT", default=30, ge=1, le=1_000_000)
    notify_rate_window: int = _env("APP_NOTIFY_RATE_WINDOW", default=3600, ge=1, le=7 * 24 * 3600)
    notify_workers: int = _env("APP_NOTIFY_WORKERS", default=4, ge=1, le=256)
    # One-time account links (email verification, password reset).
    email_verification_ttl: int = _env("APP_EMAIL_VERIFICATION_TTL", default=24 * 3600, ge=300, le=30 * 24 * 3600)
    password_reset_ttl: int = _env("APP_PASSWORD_RESET_TTL", default=1800, ge=60, le=24 * 3600)
    account_link_requests_per_email: int = _env("APP_ACCOUNT_LINK_REQUESTS_PER_EMAIL", default=5, ge=1, le=1000)
    account_link_requests_per_address: int = _env("APP_ACCOUNT_LINK_REQUESTS_PER_ADDRESS", default=20, ge=1,
                                                  le=100_000)
    # Webhooks for integrators (README, "Webhooks").
    webhook_max_attempts: int = _env("APP_WEBHOOK_MAX_ATTEMPTS", default=10, ge=1, le=100)
    webhook_retry_base_seconds: float = _env("APP_WEBHOOK_RETRY_BASE_SECONDS", default=30.0, gt=0, le=24 * 3600)
    webhook_retry_max_seconds: float = _env("APP_WEBHOOK_RETRY_MAX_SECONDS", default=6 * 3600.0, gt=0,
                                            le=7 * 24 * 3600)
    webhook_disable_after_failures: int = _env("APP_WEBHOOK_DISABLE_AFTER_FAILURES", default=20, ge=1, le=100_000)
    webhook_disable_after_seconds: float = _env("APP_WEBHOOK_DISABLE_AFTER_SECONDS", default=24 * 3600.0, ge=0,
                                                le=30 * 24 * 3600)
    webhook_timeout_seconds: float = _env("APP_WEBHOOK_TIMEOUT_SECONDS", default=10.0, gt=0, le=120)
    webhook_poll_seconds: float = _env("APP_WEBHOOK_POLL_SECONDS", default=1.0, gt=0, le=60)
    webhook_allow_private_targets: bool = _env("APP_WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
    # Prometheus /metrics on its own listener, never through the public app (0 turns it off).
    metrics_host: str = _env("APP_METRICS_HOST", default="127.0.0.1")
    metrics_port: int = _env("APP_METRICS_PORT", default=9800, ge=0, le=65535)
    webhook_log_days: int = _env("APP_WEBHOOK_LOG_DAYS", default=30, ge=1, le=3650)
    # Recordings: files in a directory (the all-in-one) unless an S3 endpoint is given.
    recordings_dir: str = _env("APP_RECORDINGS_DIR", default="data/recordings")
    s3_endpoint: str = _env("APP_S3_ENDPOINT", default="")
    s3_bucket: str = _env("APP_S3_BUCKET", default="confero-recordings", min_length=3, max_length=63)
    s3_region: str = _env("APP_S3_REGION", default="us-east-1")
    s3_access_key: str = _env("APP_S3_ACCESS_KEY", default="", repr=False)
    s3_secret_key: str = _env("APP_S3_SECRET_KEY", default="", repr=False)
    recording_link_ttl: int = _env("APP_RECORDING_LINK_TTL", default=900, ge=10, le=7 * 24 * 3600)
    # AI analysis (domain/analysis, runners/web/handlers/ai.py, runners/rpc, python -m runners.ai).
    mongo_url: str = _env("APP_MONGO_URL", default="", repr=False)
    mongo_database: str = _env("APP_MONGO_DATABASE", default="confero")
    ai_port: int = _env("APP_AI_PORT", default=8084, ge=0, le=65535)
    ai_grpc_port: int = _env("APP_AI_GRPC_PORT", default=9084, ge=0, le=65535)
    ai_service_tokens: CommaList = _env("APP_AI_SERVICE_TOKENS", default=(), repr=False)
    ai_max_upload_bytes: int = _env("APP_AI_MAX_UPLOAD_BYTES", default=25 * 1024 * 1024, ge=1024,
                                    le=1024 * 1024 * 1024)
    ai_upload_timeout: float = _env("APP_AI_UPLOAD_TIMEOUT", default=60.0, gt=0, le=3600)
    ai_max_duration_seconds: float = _env("APP_AI_MAX_DURATION_SECONDS", default=600.0, gt=0, le=6 * 3600)
    ai_sync_max_seconds: float = _env("APP_AI_SYNC_MAX_SECONDS", default=30.0, ge=0, le=600)
    ai_inference_timeout: float = _env("APP_AI_INFERENCE_TIMEOUT", default=120.0, gt=0, le=3600)
    ai_job_concurrency: int = _env("APP_AI_JOB_CONCURRENCY", default=1, ge=1, le=64)
    ai_job_backlog: int = _env("APP_AI_JOB_BACKLOG", default=16, ge=1, le=10_000)
    ai_submissions_per_minute: int = _env("APP_AI_SUBMISSIONS_PER_MINUTE", default=30, ge=1, le=100_000)
    ai_grpc_max_message_bytes: int = _env("APP_AI_GRPC_MAX_MESSAGE_BYTES", default=4 * 1024 * 1024, ge=1024,
                                          le=64 * 1024 * 1024)
    # A completed recording is transcribed and emotion-tagged on its own (README "Analysis of a finished recording").
    ai_analyse_recordings: bool = _env("APP_AI_ANALYSE_RECORDINGS", default=True)
    # Services over gRPC (issue 14, docs/grpc.md).  APP_SERVICE_SECRETS: the shared secret(s) of service-to-service
    # calls; clients send the first, servers accept any (rotation: add the new one to every server, then put it
    # first everywhere, then drop the old one).  The *_GRPC_TARGET variables (host:port) make this process call
    # that service over gRPC instead of composing it in process.
    service_secrets: CommaList = _env("APP_SERVICE_SECRETS", default=(), repr=False)
    users_port: int = _env("APP_USERS_PORT", default=8080, ge=0, le=65535)  # HTTP of python -m runners.users
    users_grpc_port: int = _env("APP_USERS_GRPC_PORT", default=50051, ge=0, le=65535)
    meetings_port: int = _env("APP_MEETINGS_PORT", default=8082, ge=0, le=65535)  # HTTP of python -m runners.meetings
    meetings_grpc_port: int = _env("APP_MEETINGS_GRPC_PORT", default=50052, ge=0, le=65535)
    users_grpc_target: str = _env("APP_USERS_GRPC_TARGET", default="")
    meetings_grpc_target: str = _env("APP_MEETINGS_GRPC_TARGET", default="")
    grpc_timeout: float = _env("APP_GRPC_TIMEOUT", default=5.0, gt=0, le=300)  # seconds, each attempt of a call
    grpc_attempts: int = _env("APP_GRPC_ATTEMPTS", default=3, ge=1, le=10)  # idempotent calls only
    # Discovery (issue 14, runners/discovery.py): with APP_ETCD_URL every process registers itself in etcd under
    # its service name and APP_INSTANCE_ID, at APP_ADVERTISE_HOST (default: APP_HOST, or 127.0.0.1 when that is a
    # wildcard) and the ports it listens on, on a lease of APP_REGISTRY_TTL seconds; on SIGTERM it marks itself
    # draining, waits APP_DRAIN_SECONDS, deregisters, then stops.
    etcd_url: str = _env("APP_ETCD_URL", default="")
    etcd_prefix: str = _env("APP_ETCD_PREFIX", default="/confero/services/", min_length=1, max_length=200)
    advertise_host: str = _env("APP_ADVERTISE_HOST", default="")
    registry_ttl: float = _env("APP_REGISTRY_TTL", default=10.0, ge=1, le=300)
    drain_seconds: float = _env("APP_DRAIN_SECONDS", default=1.0, ge=0, le=120)
    signaling_port: int = _env("APP_SIGNALING_PORT", default=8081, ge=0, le=65535)  # python -m runners.signaling
    # The gateway (python -m runners.gateway, issue 14; docs in README "Gateway"): it finds upstreams in the registry
    # at APP_ETCD_URL ("" = a memory registry, for tests and a single process); its port, timeouts, edge rate limits.
    gateway_port: int = _env("APP_GATEWAY_PORT", default=8800, ge=0, le=65535)
    gateway_connect_timeout: float = _env("APP_GATEWAY_CONNECT_TIMEOUT", default=2.0, gt=0, le=60)
    gateway_timeout: float = _env("APP_GATEWAY_TIMEOUT", default=60.0, gt=0, le=3600)
    gateway_rate_per_user: int = _env("APP_GATEWAY_RATE_PER_USER", default=1200, ge=0, le=10_000_000)
    gateway_rate_per_address: int = _env("APP_GATEWAY_RATE_PER_ADDRESS", default=2400, ge=0, le=10_000_000)
    gateway_rate_window: int = _env("APP_GATEWAY_RATE_WINDOW", default=60, ge=1, le=24 * 3600)
    # Fixed upstreams (service=host:port, comma-separated) put in the memory registry: a gateway without etcd.
    gateway_upstreams: CommaList = _env("APP_GATEWAY_UPSTREAMS", default=())
    # Live captions (issue 12; runners/captions.py, runners/captions_media.py): off in every meeting until a
    # host turns them on.
    captions_enabled: bool = _env("APP_CAPTIONS_ENABLED", default=True)
    # Speech-to-text: "inprocess" (the AI service of this process) or "grpc" (the AI service's StreamCaptions).
    captions_speech: str = _env("APP_CAPTIONS_SPEECH", default="inprocess")
    captions_ai_host: str = _env("APP_CAPTIONS_AI_HOST", default="127.0.0.1")
    captions_ai_port: int = _env("APP_CAPTIONS_AI_PORT", default=9084, ge=1, le=65535)
    captions_service_token: str = _env("APP_CAPTIONS_SERVICE_TOKEN", default="", repr=False)
    captions_stream_deadline: float = _env("APP_CAPTIONS_STREAM_DEADLINE", default=300.0, gt=0, le=3600)
    captions_end_silence: float = _env("APP_CAPTIONS_END_SILENCE", default=0.8, gt=0, le=10)
    captions_tap_queue_seconds: float = _env("APP_CAPTIONS_TAP_QUEUE_SECONDS", default=5.0, gt=0, le=120)
    captions_stream_buffer_seconds: float = _env("APP_CAPTIONS_STREAM_BUFFER_SECONDS", default=30.0, gt=0, le=600)
    captions_retry_max: float = _env("APP_CAPTIONS_RETRY_MAX", default=10.0, gt=0, le=600)
    # Inference: the Triton nodes the AI service uses, and the model server (runners.inference) itself.
    triton_urls: CommaList = _env("APP_TRITON_URLS", default=())
    triton_health_interval: float = _env("APP_TRITON_HEALTH_INTERVAL", default=2.0, gt=0, le=300)
    inference_http_port: int = _env("APP_INFERENCE_HTTP_PORT", default=8000, ge=0, le=65535)
    inference_grpc_port: int = _env("APP_INFERENCE_GRPC_PORT", default=8001, ge=0, le=65535)
    inference_metrics_port: int = _env("APP_INFERENCE_METRICS_PORT", default=8002, ge=0, le=65535)
    inference_max_batch: int = _env("APP_INFERENCE_MAX_BATCH", default=8, ge=1, le=256)
    inference_batch_delay_us: int = _env("APP_INFERENCE_BATCH_DELAY_US", default=2000, ge=0, le=1_000_000)
    inference_threads: int = _env("APP_INFERENCE_THREADS", default=2, ge=1, le=64)
    # Media nodes (issue 14; python -m runners.media, docs/grpc.md): the SFU in its own process.  HTTP (/health,
    # /ready, /metrics) and gRPC ports; the load it reports to the registry every APP_MEDIA_LOAD_INTERVAL seconds.
    # APP_MEDIA_GRPC_TARGET (host:port of one node) makes this process's rooms use that node's SFU over gRPC.
    media_port: int = _env("APP_MEDIA_PORT", default=8083, ge=0, le=65535)
    media_grpc_port: int = _env("APP_MEDIA_GRPC_PORT", default=50053, ge=0, le=65535)
    media_load_interval: float = _env("APP_MEDIA_LOAD_INTERVAL", default=2.0, gt=0, le=300)
    media_grpc_target: str = _env("APP_MEDIA_GRPC_TARGET", default="")
    # Media nodes (issue 14, runners/media_nodes.py, docs/signaling.md 13.7): "" = the SFU in this process;
    # "etcd" = each room placed on one of the registry's "media" instances (APP_ETCD_URL), over gRPC.
    media_nodes: str = _env("APP_MEDIA_NODES", default="")
    media_node_probe_seconds: float = _env("APP_MEDIA_NODE_PROBE_SECONDS", default=1.0, gt=0, le=60)

    @property
    def connections_per_address(self) -> int:
        """Default 64; off behind trusted proxies, whose own address would carry every client (limit per
        client at the proxy then)."""
        if self.http_max_connections_per_address is not None:
            return self.http_max_connections_per_address
        return 0 if self.trust_forwarded_for else 64

    @property
    def connections_total(self) -> int:
        """Default: half the process's soft descriptor limit, leaving the rest to database and Redis pools,
        the SFU's UDP sockets and log files, so accept() never fails for want of a descriptor."""
        if self.http_max_connections is not None:
            return self.http_max_connections
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        return max(16, soft // 2) if soft != resource.RLIM_INFINITY else 0

    @property
    def advertised_host(self) -> str:
        """The host other processes reach this one at (what the registry holds)."""
        if self.advertise_host:
            return self.advertise_host
        return "127.0.0.1" if self.host in ("", "0.0.0.0", "::", "[::]") else self.host

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, fmt: str) -> str:
        if fmt not in ("json", "text"):
            raise ValueError("must be 'json' or 'text'")
        return fmt

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _ice_json(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ValueError("must be a JSON list of RTCIceServer objects") from None
        if not isinstance(raw, list | tuple) or not all(isinstance(i, dict) and "urls" in i for i in raw):
            raise ValueError("must be a JSON list of objects with 'urls'")
        return tuple(raw)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        production = self.adapters is AdapterFamily.PRODUCTION
        problems = []
        if production:
            if not self.jwt_secret:
                problems.append("APP_JWT_SECRET is required in production (at least 32 bytes)")
            for name, value in (("APP_POSTGRES_DSN", self.postgres_dsn), ("APP_REDIS_URL", self.redis_url)):
                if not value:
                    problems.append(f"{name} is required when APP_ADAPTERS=production")
            if not self.postgres_dsn and self.users_grpc_target and self.meetings_grpc_target:
                problems.remove("APP_POSTGRES_DSN is required when APP_ADAPTERS=production")  # signaling: over gRPC
            if self.fast_password_hashing:
                problems.append("APP_FAST_PASSWORD_HASHING is for tests and is refused in production")
            if self.sqlite_path:
                problems.append("APP_SQLITE_PATH is for APP_ADAPTERS=memory (production keeps its data in PostgreSQL)")
            if not self.service_secrets and (self.users_grpc_target or self.meetings_grpc_target):
                problems.append("APP_SERVICE_SECRETS is required in production when calling other services over "
                                "gRPC (APP_*_GRPC_TARGET; at least 32 bytes each)")
        elif not self.jwt_secret:
            object.__setattr__(self, "jwt_secret", secrets.token_urlsafe(48))  # embedded: a fresh key per process
        if not production and not self.service_secrets:
            object.__setattr__(self, "service_secrets", (secrets.token_urlsafe(48),))  # embedded: one process
        if any(len(s.encode()) < 32 for s in self.service_secrets):
            problems.append("APP_SERVICE_SECRETS: each secret must be at least 32 bytes")
        for name, target in (("APP_USERS_GRPC_TARGET", self.users_grpc_target),
                             ("APP_MEETINGS_GRPC_TARGET", self.meetings_grpc_target),
                             ("APP_MEDIA_GRPC_TARGET", self.media_grpc_target)):
            if target == "etcd" and name == "APP_MEDIA_GRPC_TARGET":  # rooms go to one node's SFU, not "any"
                problems.append("APP_MEDIA_GRPC_TARGET is one media node's host:port; to place rooms on every "
                                "media node in the registry set APP_MEDIA_NODES=etcd (and unset APP_MEDIA_GRPC_TARGET)")
                continue
            if target == "etcd":  # the service's instances in the registry (runners/remote.py)
                if not self.etcd_url:
                    problems.append(f"{name}=etcd needs APP_ETCD_URL")
                continue
            host, sep, port = target.rpartition(":")
            if target and not (sep and host and port.isdigit() and 0 < int(port) < 65536):
                problems.append(f"{name} must be host:port (got {target!r})")
        if self.etcd_url and not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", self.instance_id):
            problems.append("APP_INSTANCE_ID must be 1-64 of [A-Za-z0-9._-] when APP_ETCD_URL is set (it names "
                            "the instance in the registry)")
        if not (self.etcd_prefix.startswith("/") and self.etcd_prefix.endswith("/")):
            problems.append("APP_ETCD_PREFIX must start and end with /")
        if any(c.isspace() for c in self.advertise_host):
            problems.append("APP_ADVERTISE_HOST must be a host name or address")
        if self.jwt_secret and len(self.jwt_secret.encode()) < 32:
            problems.append("APP_JWT_SECRET must be at least 32 bytes")
        admin = (self.admin_username, self.admin_email, self.admin_password)
        if any(admin) and not all(admin):
            problems.append("APP_ADMIN_USERNAME, APP_ADMIN_EMAIL and APP_ADMIN_PASSWORD go together")
        if self.turn_urls and not self.turn_secret:
            problems.append("APP_TURN_SECRET is required when APP_TURN_URLS is set")
        if self.smtp_tls not in ("none", "starttls", "tls"):
            problems.append("APP_SMTP_TLS must be none, starttls or tls")
        if self.sms_account_sid and not (self.sms_auth_token and self.sms_from):
            problems.append("APP_SMS_AUTH_TOKEN and APP_SMS_FROM are required with APP_SMS_ACCOUNT_SID")
        if self.vapid_private_key and not self.vapid_public_key:
            problems.append("APP_VAPID_PUBLIC_KEY is required with APP_VAPID_PRIVATE_KEY")
        if self.captions_speech not in ("inprocess", "grpc"):
            problems.append("APP_CAPTIONS_SPEECH must be inprocess or grpc")
        elif self.captions_enabled and self.captions_speech == "grpc" and not self.captions_service_token:
            problems.append("APP_CAPTIONS_SERVICE_TOKEN is required with APP_CAPTIONS_SPEECH=grpc")
        for upstream in self.gateway_upstreams:
            service, eq, address = upstream.partition("=")
            host, colon, port = address.rpartition(":")
            if not (eq and service and host and colon and port.isdigit() and 0 < int(port) < 65536):
                problems.append(f"APP_GATEWAY_UPSTREAMS entries must be service=host:port (got {upstream!r})")
        if self.gateway_upstreams and self.etcd_url:
            problems.append("APP_GATEWAY_UPSTREAMS is for a gateway without etcd: unset APP_ETCD_URL or it")
        if self.media_nodes not in ("", "etcd"):
            problems.append("APP_MEDIA_NODES must be empty (the SFU in process) or etcd")
        elif self.media_nodes and not self.etcd_url:
            problems.append("APP_MEDIA_NODES=etcd needs APP_ETCD_URL")
        if self.media_nodes and self.media_grpc_target:
            problems.append("APP_MEDIA_NODES=etcd places rooms on every media node: unset APP_MEDIA_GRPC_TARGET (one node)")
        if not self.ws_origins:
            object.__setattr__(self, "ws_origins", self.cors_origins)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Settings from ``env`` (os.environ in the runners).  Raises ConfigError with one line naming every
        bad variable."""
        try:
            return cls.model_validate(_MappingSource(cls, env)())
        except ValidationError as err:
            raise ConfigError(describe(err)) from None


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of os.environ (as its own
    DotEnvSettingsSource does over a file)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = dict(env)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def describe(err: ValidationError) -> str:
    """Every problem on one line; the value is quoted only for variables that hold no secret."""
    parts = []
    for e in err.errors(include_url=False):
        name = str(e["loc"][0]) if e["loc"] else ""
        message = e["msg"].removeprefix("Value error, ")
        if name and name not in SECRETS and isinstance(e.get("input"), str):
            message += f" (got {e['input']!r})"
        parts.append(f"{name}: {message}" if name else message)
    return "; ".join(parts)
