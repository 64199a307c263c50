"""The process's metrics: names carry their unit, counters end in ``_total``, label values are bounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Seconds: API calls are mostly 1-50 ms; argon2 logins and SFU negotiations reach the upper buckets.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

HTTP_REQUESTS = Counter("confero_http_requests_total", "HTTP requests answered, by route template and status class",
                        ("method", "route", "status_class"))
HTTP_DURATION = Histogram("confero_http_request_duration_seconds", "Time to answer an HTTP request",
                          ("method", "route"), buckets=LATENCY_BUCKETS)
HTTP_IN_FLIGHT = Gauge("confero_http_requests_in_flight", "HTTP requests being handled now")

POSTGRES_POOL_CONNECTIONS = Gauge("confero_postgres_pool_connections", "Pooled PostgreSQL connections by state",
                                  ("state",))
POSTGRES_POOL_MAX = Gauge("confero_postgres_pool_max_connections", "Size limit of the PostgreSQL pool")
POSTGRES_ACQUIRE = Histogram("confero_postgres_pool_acquire_seconds", "Wait for a pooled PostgreSQL connection",
                             buckets=FAST_BUCKETS)
POSTGRES_QUERY = Histogram("confero_postgres_query_duration_seconds", "PostgreSQL statement time (client side)",
                           buckets=FAST_BUCKETS)
POSTGRES_QUERY_ERRORS = Counter("confero_postgres_query_errors_total", "PostgreSQL statements that failed")
OUTBOX_PENDING = Gauge("confero_outbox_pending_events", "Committed events the relay has not published yet")

REDIS_COMMAND = Histogram("confero_redis_command_duration_seconds", "Redis command (or pipeline) round trip",
                          ("command",), buckets=FAST_BUCKETS)
REDIS_ERRORS = Counter("confero_redis_command_errors_total", "Redis commands (or pipelines) that failed",
                       ("command",))

EVENTS_PUBLISHED = Counter("confero_events_published_total", "Domain events the relay published")
EVENT_RELAY_LAG = Histogram("confero_event_relay_lag_seconds", "From an event's occurrence to its publication",
                            buckets=LATENCY_BUCKETS)
EVENTS_CONSUMED = Counter("confero_events_consumed_total", "Stream events handed to a consumer", ("outcome",))
DEAD_LETTERS = Gauge("confero_dead_letters", "Events in the dead-letter store")

SIGNALING_SOCKETS = Gauge("confero_signaling_sockets", "Open signaling WebSockets")
SIGNALING_ROOMS = Gauge("confero_signaling_rooms", "Rooms with a member connected to this process")
SIGNALING_RECEIVED = Counter("confero_signaling_messages_received_total", "Signaling frames received, by type",
                             ("type",))
SIGNALING_SENT = Counter("confero_signaling_messages_sent_total", "Signaling frames queued to sockets, by type",
                         ("type",))
SIGNALING_RATE_LIMITED = Counter("confero_signaling_rate_limited_total", "Signaling frames refused by the rate limit")

SFU_ROOMS = Gauge("confero_sfu_rooms", "Rooms with media on this SFU")
SFU_PEERS = Gauge("confero_sfu_peer_connections", "SFU peer connections by ICE/DTLS state", ("state",))
SFU_STREAMS = Gauge("confero_sfu_forwarded_streams", "Streams the SFU forwards to subscribers now", ("kind",))
SFU_BITRATE = Gauge("confero_sfu_bitrate_bits_per_second", "Media bitrate through the SFU", ("kind", "direction"))
SFU_PACKETS = Gauge("confero_sfu_packets", "RTP packets of the streams alive now", ("kind", "direction"))
SFU_PACKETS_LOST = Gauge("confero_sfu_packets_lost", "RTP packets lost on the streams alive now",
                         ("kind", "direction"))
SFU_KEYFRAME_REQUESTS = Gauge("confero_sfu_keyframe_requests", "PLIs sent to the publishers of the live streams")
SFU_KEYFRAME_WAITS = Gauge("confero_sfu_subscriptions_waiting_for_keyframe",
                           "Subscriptions dropping video until a keyframe arrives")
SFU_VIDEO_LAYERS = Gauge("confero_sfu_forwarded_video_layers",
                         "Videos forwarded to subscribers by the simulcast layer their bandwidth and tile chose "
                         "(0 = lowest; paused = paused for bandwidth)", ("layer",))
SFU_BANDWIDTH_LIMITED = Gauge("confero_sfu_bandwidth_limited_subscribers",
                              "Subscribers whose bandwidth estimate pauses at least one video now")
SFU_SCRAPE_ERRORS = Counter("confero_sfu_stats_errors_total", "SFU stats reads that failed during a scrape")

# Seconds of work that runs for minutes: AI analyses and recordings' processing.
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

EVENT_CONSUME_LAG = Histogram("confero_event_consume_lag_seconds",
                              "From an event's occurrence to a consumer of the stream handling it",
                              buckets=LATENCY_BUCKETS)
DEAD_LETTERED = Counter("confero_events_dead_lettered_total",
                        "Events a consumer gave up on after APP_EVENT_MAX_ATTEMPTS (moved to the dead letters)")

AI_JOBS = Gauge("confero_ai_jobs", "Long AI analyses in this process's queue, by state", ("state",))
AI_JOB_DURATION = Histogram("confero_ai_job_duration_seconds", "Time a long AI analysis ran (after its wait)",
                            ("outcome",), buckets=JOB_BUCKETS)
AI_JOB_WAIT = Histogram("confero_ai_job_wait_seconds", "Time a long AI analysis waited for a slot",
                        buckets=JOB_BUCKETS)
AI_JOBS_REJECTED = Counter("confero_ai_jobs_rejected_total", "Long AI analyses refused because the queue was full")

RECORDINGS_ACTIVE = Gauge("confero_recordings_active", "Recordings this process's SFU is taping now")
RECORDING_PROCESSING = Gauge("confero_recording_processing_jobs", "Recordings being made into the meeting file now")
RECORDING_PROCESSING_DURATION = Histogram("confero_recording_processing_duration_seconds",
                                          "Time to make a recording's meeting file (ffmpeg)", ("outcome",),
                                          buckets=JOB_BUCKETS)

GATEWAY_REQUESTS = Counter("confero_gateway_requests_total",
                           "Requests the gateway answered, by upstream service and status class",
                           ("service", "method", "status_class"))
GATEWAY_DURATION = Histogram("confero_gateway_request_duration_seconds",
                             "Time to answer a request at the gateway (forwarding included)", ("service", "method"),
                             buckets=LATENCY_BUCKETS)
GATEWAY_TOKEN_CACHE = Counter("confero_gateway_token_cache_lookups_total",
                              "Access-token checks at the gateway: answered from its cache (hit) or verified (miss)",
                              ("result",))
GATEWAY_RATE_LIMITED = Counter("confero_gateway_rate_limited_total", "Requests the gateway refused with 429")

# Label sets shown at zero before their first use, so dashboards and PromQL find the series from the start.
for _state in ("waiting", "running"):
    AI_JOBS.labels(_state)
for _outcome in ("ok", "error"):
    AI_JOB_DURATION.labels(_outcome)
    RECORDING_PROCESSING_DURATION.labels(_outcome)
for _result in ("hit", "miss"):
    GATEWAY_TOKEN_CACHE.labels(_result)

# Sequence numbers asked again with RTCP NACK: "sent" to publishers (packets the SFU lost on the way in),
# "received" from subscribers (packets they lost, which the SFU retransmits).
SFU_NACKS = Counter("confero_sfu_nack_packets_total", "RTP packets requested again by RTCP NACK", ("direction",))
for _direction in ("sent", "received"):
    SFU_NACKS.labels(_direction)

# The event stream's consumer groups (a fixed set: signaling, webhooks, notifications), read at scrape time.
EVENT_STREAM_PENDING = Gauge("confero_event_stream_pending_entries",
                             "Stream entries delivered to a consumer group and not acknowledged yet", ("group",))
EVENT_STREAM_BACKLOG = Gauge("confero_event_stream_lag_entries",
                             "Stream entries not yet delivered to a consumer group (XINFO GROUPS lag)", ("group",))

# gRPC, both ends (adapters/grpc/observed.py): the service and method of the proto, the status code's name.
GRPC_SERVER_HANDLED = Counter("confero_grpc_server_handled_total", "gRPC calls answered, by method and status code",
                              ("grpc_service", "grpc_method", "grpc_code"))
GRPC_SERVER_DURATION = Histogram("confero_grpc_server_handling_seconds", "Time to answer a gRPC call",
                                 ("grpc_service", "grpc_method"), buckets=FAST_BUCKETS)
GRPC_CLIENT_HANDLED = Counter("confero_grpc_client_handled_total",
                              "gRPC call attempts made to other services, by method and status code",
                              ("grpc_service", "grpc_method", "grpc_code"))
GRPC_CLIENT_DURATION = Histogram("confero_grpc_client_handling_seconds",
                                 "Time of one gRPC call attempt, from the caller's side",
                                 ("grpc_service", "grpc_method"), buckets=FAST_BUCKETS)
