"""Readiness checks and scrape hooks for the servers a process uses besides PostgreSQL and Redis
(registered by ``wiring.register_adapters``) and etcd (``runners.discovery``): the S3 blob store, MongoDB
and Triton, each only when this process is configured with it; and, at scrape time, the recordings its SFU
is taping and the event stream's consumer groups (pending and undelivered entries)."""

from __future__ import annotations

import functools
from typing import Any

from adapters.metrics import instruments as m
from domain.shared.errors import Unavailable
from runners.observability.registry import Observability
from runners.settings import Settings


async def register_dependencies(observability: Observability, family: Any, services: Any,
                                settings: Settings) -> None:
    """``s3`` (APP_S3_ENDPOINT: HEAD of the bucket), ``mongodb`` (APP_MONGO_URL: ping), ``triton``
    (APP_TRITON_URLS: at least one node ready, as the engine's own health loop saw it)."""
    if settings.s3_endpoint and "blobs" in getattr(family, "providers", {}):
        from runners.containers import resolve

        blobs = await resolve(family.blobs)
        if hasattr(blobs, "ping"):
            observability.add_check("s3", blobs.ping)
    if "redis" in getattr(family, "providers", {}):
        from adapters.redis import observed as rd
        from runners.containers import resolve
        from runners.production import EVENT_STREAM

        observability.on_scrape(functools.partial(rd.stream_groups, await resolve(family.redis), EVENT_STREAM))
    analysis = getattr(services, "analysis", None)
    if analysis is not None:
        if settings.mongo_url and hasattr(analysis.store, "ping"):
            observability.add_check("mongodb", analysis.store.ping)
        if settings.triton_urls:
            engine = analysis.engine

            async def triton() -> None:
                if not any(node.ready for node in await engine.nodes()):
                    raise Unavailable("no Triton node is ready")

            observability.add_check("triton", triton)
    recordings = getattr(services, "recordings", None)
    recorder = getattr(recordings, "recorder", None)
    if recorder is not None and hasattr(recorder, "media"):  # the SFU's recorder, not the placeholder

        async def taping() -> None:
            m.RECORDINGS_ACTIVE.set(len(await recorder.recording()))

        observability.on_scrape(taping)
