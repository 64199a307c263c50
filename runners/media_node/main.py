"""A media node (issue 14): the SFU in its own process, for the rooms placed on it.

- gRPC on APP_MEDIA_GRPC_PORT (50053): the MediaNode service (proto/media.proto) over the aiortc SFU
  behind the drain rule (domain/rooms/media_node.py); only other services call it (APP_SERVICE_SECRETS).
- Its recorder (MediaRecorder, same port): it taps the SFU's rooms into the blob store (S3 at
  APP_S3_ENDPOINT, else APP_RECORDINGS_DIR), which the recording service in signaling must share.
- Its caption tap (MediaCaptioner, same port) when captions are on and APP_CAPTIONS_SPEECH=grpc: it hears
  the rooms' audio, streams it to the AI service, and streams the captions back to the signaling process
  following the room, whose captions use case stores and publishes them.
- HTTP on APP_MEDIA_PORT (8083): ``/health``, ``/ready`` (Redis, etcd) and ``/metrics`` (the SFU's gauges).
- The SFU's own signals to members (answers, offers, active speaker) go onto the signal bus: Redis at
  APP_REDIS_URL, where every signaling process reads them, whichever holds the member's socket.  Without
  APP_REDIS_URL a memory bus (a node alone, for development: nobody receives its signals).
- With APP_ETCD_URL it registers as service ``media`` (its HTTP and gRPC addresses) and reports its load
  (streams forwarded, CPU share of the host) every APP_MEDIA_LOAD_INTERVAL seconds.
- On SIGTERM/SIGINT it drains: marked ``draining`` in the registry, it opens no new rooms (an offer for a
  room it does not hold is FAILED_PRECONDITION MediaNodeDraining, so the placement puts the room
  elsewhere), waits up to APP_DRAIN_SECONDS for its rooms to empty, deregisters, then closes what is left.

Exit codes as runners.serve: 0 stopped, 2 bad configuration, 3 a server unusable or a port taken.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any
from contextlib import asynccontextmanager

import attrs
from aiohttp import web

from adapters.inprocess.caption_relay import CaptionRelay
from adapters.system.cpu import ProcessCpu
from adapters.webrtc import observed
from adapters.webrtc.load import forwarded_streams
from adapters.webrtc.recorder import AiortcRoomRecorder
from adapters.webrtc.sfu import AiortcMediaServer
from domain.discovery.model import InstanceLoad
from domain.rooms.media import MediaNodeLoad
from domain.rooms.media_node import MediaNode
from domain.shared.errors import DomainError
from ports.rooms import SignalBus
from runners.discovery import Announcement, announced, etcd_registry, instance_of
from runners.media import aiortc_media_server
from runners.observability.http_metrics import metrics_handler
from runners.observability.registry import Observability
from runners.recording import blob_store
from runners.rpc.media import MediaCaptionerServicer, MediaNodeServicer, MediaRecorderServicer
from runners.rpc.server import bound_port, service_secrets, serving
from runners.settings import ConfigError, Settings

log = logging.getLogger("runners.media_node")
SERVICE = "media"
POLL = 0.25  # seconds between two looks at the rooms while draining


@attrs.define
class NodeMeter:
    """The node's load: streams the SFU forwards, this process's CPU share, rooms and connections."""

    sfu: AiortcMediaServer
    node: MediaNode
    cpu: ProcessCpu = attrs.field(factory=ProcessCpu)
    last_cpu: float = 0.0

    def sample(self) -> InstanceLoad:
        """A new reading (the CPU share since the previous one), as the registry holds it."""
        self.last_cpu = self.cpu.fraction()
        return InstanceLoad(streams=forwarded_streams(self.sfu), cpu=self.last_cpu)

    async def load(self) -> MediaNodeLoad:
        """What the Load call answers (the CPU share of the last report: a call does not reset it)."""
        return MediaNodeLoad(streams=forwarded_streams(self.sfu), cpu=self.last_cpu,
                             rooms=len(self.sfu.rooms), connections=self.sfu.connection_count(),
                             draining=self.node.draining)


@asynccontextmanager
async def signal_bus(settings: Settings, observability: Observability) -> AsyncIterator[SignalBus]:
    """Redis at APP_REDIS_URL (as signaling uses it), else a memory bus that only this process reads."""
    if not settings.redis_url:
        from adapters.memory.rooms import InMemorySignalBus

        log.warning("no APP_REDIS_URL: the SFU's signals stay in this process (nobody receives them)")
        yield InMemorySignalBus()
        return
    from adapters.redis import observed as rd
    from adapters.redis.client import open_redis
    from adapters.redis.signal_bus import RedisSignalBus

    async with open_redis(settings.redis_url) as redis:
        observability.add_check("redis", functools.partial(rd.ready, redis))
        bus = RedisSignalBus(redis)
        try:
            yield bus
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bus.aclose(), settings.shutdown_timeout)


async def caption_tap(stack: contextlib.AsyncExitStack, sfu: AiortcMediaServer,
                      settings: Settings) -> tuple[Any, CaptionRelay]:
    """The caption tap on the SFU and the relay it delivers to, when captions are on and speech-to-text is
    the AI service over gRPC (APP_CAPTIONS_SPEECH=grpc; a node composes no AI service of its own); else
    no tap (None): the node's MediaCaptioner answers Unavailable."""
    relay = CaptionRelay()
    if not settings.captions_enabled:
        return None, relay
    if settings.captions_speech != "grpc":
        log.warning("captions: a media node needs APP_CAPTIONS_SPEECH=grpc (the AI service's StreamCaptions); "
                    "captions stay unavailable for its rooms")
        return None, relay
    from runners.captions_media import aiortc_room_captioner, speech_to_text

    try:
        speech = speech_to_text("grpc", host=settings.captions_ai_host, port=settings.captions_ai_port,
                                service_token=settings.captions_service_token,
                                deadline=settings.captions_stream_deadline)
    except ValueError as err:  # no APP_CAPTIONS_SERVICE_TOKEN
        log.warning("captions: no caption tap on this node", extra={"reason": str(err)})
        return None, relay
    close_speech = getattr(speech, "close", None)
    if close_speech is not None:
        stack.push_async_callback(close_speech)
    captioner = aiortc_room_captioner(sfu, speech, relay, end_silence_s=settings.captions_end_silence,
                                      tap_queue_s=settings.captions_tap_queue_seconds,
                                      stream_buffer_s=settings.captions_stream_buffer_seconds,
                                      retry_max_s=settings.captions_retry_max)
    stack.push_async_callback(captioner.close)
    return captioner, relay


def http_app(observability: Observability, settings: Settings) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "adapters": settings.adapters.value})

    async def ready(request: web.Request) -> web.Response:
        ok, checks = await observability.readiness()
        return web.json_response({"status": "ready" if ok else "unready", "checks": checks}, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics_handler(observability.refresh))
    return app


async def report_load(announcement: Announcement, meter: NodeMeter, every: float) -> None:
    """The node's load in the registry every ``every`` seconds (and ``draining`` once it drains)."""
    while True:
        await asyncio.sleep(every)
        announcement.instance = attrs.evolve(announcement.instance, load=meter.sample(),
                                             draining=announcement.instance.draining or meter.node.draining)
        try:
            await asyncio.wait_for(announcement.registry.update(announcement.instance), every)
        except Exception as exc:  # etcd away: the next report tries again; the lease keeps the entry
            log.warning("could not report the load", extra={"error": type(exc).__name__})


async def drain(node: MediaNode, announcement: Announcement | None, seconds: float, timeout: float) -> list[str]:
    """No new rooms from now on; returns the rooms still held after waiting up to ``seconds`` for them to
    empty (their members go when the meeting ends, or move once the node is gone)."""
    node.drain()
    if announcement is not None:
        announcement.instance = attrs.evolve(announcement.instance, draining=True)
        try:
            await asyncio.wait_for(announcement.registry.update(announcement.instance), timeout)
        except Exception as exc:
            log.warning("could not mark this node draining", extra={"error": type(exc).__name__})
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    rooms = await _held(node, None)
    log.info("draining", extra={"rooms": len(rooms), "seconds": seconds})
    while rooms and loop.time() < deadline:
        await asyncio.sleep(min(POLL, max(0.0, deadline - loop.time())))
        rooms = await _held(node, rooms)
    return [str(r) for r in rooms]


async def _held(node: MediaNode, before: list[Any] | None) -> list[Any]:
    """The rooms the node holds; when the SFU cannot say (a peer closing under the read), as before (or
    one unknown room at the first look), so the stop waits on and never fails for it."""
    try:
        return await node.rooms()
    except Exception as exc:
        log.warning("could not list the rooms while draining", extra={"error": type(exc).__name__})
        return before if before is not None else ["?"]


async def serve_node(settings: Settings, stop: asyncio.Event,
                     started: Callable[[int, int], None] | None = None) -> None:
    """Serves until ``stop`` is set, then drains and stops.  ``started(http_port, grpc_port)`` once it
    listens (ports 0 pick free ones)."""
    secrets = service_secrets(settings)
    observability = Observability()
    async with contextlib.AsyncExitStack() as stack:
        bus = await stack.enter_async_context(signal_bus(settings, observability))
        sfu = aiortc_media_server(bus, settings)
        stack.push_async_callback(sfu.close)  # every room left at the end (after the listeners close)
        node = MediaNode(sfu)
        meter = NodeMeter(sfu, node)
        observability.on_scrape(functools.partial(observed.scrape, sfu))
        blobs = await stack.enter_async_context(contextlib.asynccontextmanager(blob_store)(settings))
        recorder = AiortcRoomRecorder(sfu, blobs, upload_interval=settings.recording_upload_interval)
        stack.push_async_callback(recorder.close)  # what was uploaded stays for a recovery
        servicers: list[Any] = [MediaNodeServicer(node, secrets, meter.load), MediaRecorderServicer(recorder, secrets)]
        captioner, relay = await caption_tap(stack, sfu, settings)
        servicers.append(MediaCaptionerServicer(captioner, relay, secrets))
        server = await stack.enter_async_context(serving(servicers, settings.host, settings.media_grpc_port))
        grpc_port = bound_port(server)
        runner = web.AppRunner(http_app(observability, settings), access_log=None,
                               shutdown_timeout=settings.shutdown_timeout)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, settings.host, settings.media_port)
        await site.start()
        http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        log.info("media node listening", extra={"host": settings.host, "http": http_port, "grpc": grpc_port})
        registry = await stack.enter_async_context(etcd_registry(settings, observability))
        instance = attrs.evolve(instance_of(settings, SERVICE, http_port, grpc_port), load=meter.sample())
        announcement = await stack.enter_async_context(announced(registry, instance, settings))
        reporter = None
        if announcement is not None:
            reporter = asyncio.create_task(report_load(announcement, meter, settings.media_load_interval),
                                           name="media-load-report")
        if started is not None:
            started(http_port, grpc_port)
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            left = await drain(node, announcement, settings.drain_seconds, settings.shutdown_timeout)
            log.info("drained", extra={"rooms_left": len(left)})
            if reporter is not None:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
            if announcement is not None:
                await asyncio.wait_for(announcement.withdraw(), settings.shutdown_timeout + 1)


def main() -> int:
    from runners.observability import tracing
    from runners.web.logs import configure

    try:
        settings = Settings.from_env(os.environ)
        service_secrets(settings)
    except ConfigError as err:
        print(f"configuration error: {err}", file=sys.stderr)
        return 2
    service = os.environ.get("OTEL_SERVICE_NAME") or "confero-media"
    configure(settings.log_level, settings.log_format, service, settings.instance_id)
    tracing.configure(os.environ, service, settings.instance_id)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_node(settings, stop)

    try:
        asyncio.run(run())
    except DomainError as err:
        print(f"cannot start: {err.message} {err.details}", file=sys.stderr)
        return 3
    except OSError as err:
        print(f"cannot start: {err}", file=sys.stderr)
        return 3
    return 0
