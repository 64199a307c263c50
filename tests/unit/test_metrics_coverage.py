"""The metrics of issue 15 that were missing move when their thing happens: the event bus's consume lag
and dead letters, the AI job queue, recordings' processing, the gateway's requests, token cache and
rate limit; and the readiness checks of Triton, and the recordings-taped gauge, are registered only where
configured.  Values are read from prometheus-client's registry, as a scrape would."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import REGISTRY

from adapters.memory.events import InMemoryEventBus
from adapters.metrics import instruments as m
from adapters.metrics.recording import MeasuredProcessor
from domain.analysis.errors import AnalysisQueueFull
from domain.analysis.inference import NodeHealth
from domain.meetings.events import MeetingCreated
from domain.recordings.media import RecordedFile
from runners.observability.dependencies import register_dependencies
from runners.observability.registry import Observability
from runners.settings import Settings
from runners.workers.analysis import BoundedAnalysisQueue
from tests.unit.gateway_support import Mesh, access_token, mesh  # noqa: F401  (fixture)

API = "/api/v1"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def event(age: float = 0.0) -> MeetingCreated:
    return MeetingCreated(occurred_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age),
                          meeting_id="m-1", host_id="u-1")


async def test_the_memory_bus_records_each_handled_events_lag_and_counts_what_it_dead_letters() -> None:
    bus = InMemoryEventBus(max_attempts=2, retry_delay=60)
    handled: list[str] = []

    async def handler(e: Any) -> None:
        if e.meeting_id == "poison":
            raise RuntimeError("cannot handle it")
        handled.append(e.event_id)

    bus.subscribe(handler)
    lag_count, lag_sum = value("confero_event_consume_lag_seconds_count"), value("confero_event_consume_lag_seconds_sum")
    dead, failed = value("confero_events_dead_lettered_total"), value("confero_events_consumed_total", outcome="failed")

    await bus.publish(event(age=30.0))
    assert len(handled) == 1
    assert value("confero_event_consume_lag_seconds_count") == lag_count + 1
    assert value("confero_event_consume_lag_seconds_sum") - lag_sum >= 30.0  # it waited since it occurred
    assert value("confero_event_consume_lag_seconds_bucket", le="+Inf") >= lag_count + 1

    poison = MeetingCreated(occurred_at=dt.datetime.now(dt.timezone.utc), meeting_id="poison", host_id="u-1")
    await bus.publish(poison)
    await bus.deliver()  # the second attempt: max_attempts reached, dead-lettered
    assert await bus.dead_letters.count() == 1
    assert value("confero_events_dead_lettered_total") == dead + 1
    assert value("confero_events_consumed_total", outcome="failed") == failed + 2


async def test_the_ai_queue_shows_waiting_and_running_jobs_their_times_and_refusals() -> None:
    queue = BoundedAnalysisQueue(concurrency=1, backlog=2)
    release = asyncio.Event()
    started = asyncio.Event()
    done, rejected = value("confero_ai_job_duration_seconds_count", outcome="ok"), value("confero_ai_jobs_rejected_total")
    waited = value("confero_ai_job_wait_seconds_count")
    failed = value("confero_ai_job_duration_seconds_count", outcome="error")

    async def slow() -> None:
        started.set()
        await release.wait()

    async def broken() -> None:
        raise ValueError("bad input")

    queue.enqueue(slow)
    queue.enqueue(broken)
    await started.wait()
    await asyncio.sleep(0)  # the second job reaches the semaphore
    assert value("confero_ai_jobs", state="running") == 1 and value("confero_ai_jobs", state="waiting") == 1
    with pytest.raises(AnalysisQueueFull):
        queue.enqueue(slow)
    assert value("confero_ai_jobs_rejected_total") == rejected + 1

    release.set()
    await queue.join()
    assert value("confero_ai_jobs", state="running") == 0 and value("confero_ai_jobs", state="waiting") == 0
    assert value("confero_ai_job_duration_seconds_count", outcome="ok") == done + 1
    assert value("confero_ai_job_duration_seconds_count", outcome="error") == failed + 1
    assert value("confero_ai_job_wait_seconds_count") == waited + 2


class FakeProcessor:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.fail = False

    async def compose(self, files: Any, out_key: str, progress: Any) -> RecordedFile:
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("ffmpeg failed")
        return files[0]


async def test_recording_processing_jobs_are_counted_while_they_run_and_timed_by_outcome() -> None:
    inner = FakeProcessor()
    processor = MeasuredProcessor(inner)
    ok, error = (value("confero_recording_processing_duration_seconds_count", outcome=o) for o in ("ok", "error"))
    running = value("confero_recording_processing_jobs")
    file = object()

    job = asyncio.create_task(processor.compose([file], "out", None))  # type: ignore[list-item]
    await asyncio.sleep(0)
    assert value("confero_recording_processing_jobs") == running + 1
    inner.gate.set()
    assert await job is file
    inner.fail = True
    with pytest.raises(RuntimeError):
        await processor.compose([file], "out", None)  # type: ignore[list-item]
    assert value("confero_recording_processing_jobs") == running
    assert value("confero_recording_processing_duration_seconds_count", outcome="ok") == ok + 1
    assert value("confero_recording_processing_duration_seconds_count", outcome="error") == error + 1


def upstream() -> web.Application:
    async def meeting(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["id"]})

    app = web.Application()
    app.router.add_get(f"{API}/meetings/{{id}}", meeting)
    return app


SERIES = {
    "ok": ("confero_gateway_requests_total", {"service": "meetings", "method": "GET", "status_class": "2xx"}),
    "refused": ("confero_gateway_requests_total", {"service": "meetings", "method": "GET", "status_class": "4xx"}),
    "own": ("confero_gateway_requests_total", {"service": "gateway", "method": "GET", "status_class": "2xx"}),
    "timed": ("confero_gateway_request_duration_seconds_count", {"service": "meetings", "method": "GET"}),
    "hit": ("confero_gateway_token_cache_lookups_total", {"result": "hit"}),
    "miss": ("confero_gateway_token_cache_lookups_total", {"result": "miss"}),
    "limited": ("confero_gateway_rate_limited_total", {}),
}


async def test_the_gateway_counts_requests_by_upstream_service_its_token_cache_and_its_rate_limit(
        mesh: Mesh) -> None:  # noqa: F811  (the fixture)
    await mesh.start_gateway(APP_GATEWAY_RATE_PER_USER="3")
    await mesh.start("meetings", "m1", upstream())
    token = {"Authorization": f"Bearer {access_token('metrics-user')}"}
    before = {key: value(name, **labels) for key, (name, labels) in SERIES.items()}

    statuses = []
    for i in range(4):
        async with mesh.session.get(f"{mesh.url}{API}/meetings/{i}", headers=token) as r:
            statuses.append(r.status)
    async with mesh.session.get(f"{mesh.url}/health") as r:
        assert r.status == 200

    moved = {key: value(name, **labels) - before[key] for key, (name, labels) in SERIES.items()}
    assert statuses == [200, 200, 200, 429]
    assert moved == {"ok": 3, "refused": 1, "own": 1, "timed": 4,
                     "miss": 1, "hit": 3,  # verified once, then answered from the cache
                     "limited": 1}


class FakeEngine:
    def __init__(self, ready: bool) -> None:
        self.ready = ready

    async def nodes(self) -> list[NodeHealth]:
        return [NodeHealth(endpoint="grpc://triton:8001", ready=self.ready, models_ready=(), error=None)]


class FakeRecorder:
    media = object()  # the SFU's recorder holds its media server; the placeholder does not

    async def recording(self) -> list[str]:
        return ["r-1", "r-2"]


async def test_triton_readiness_and_the_recordings_gauge_are_registered_where_configured() -> None:
    engine = FakeEngine(ready=False)
    services = SimpleNamespace(analysis=SimpleNamespace(store=object(), engine=engine),
                               recordings=SimpleNamespace(recorder=FakeRecorder()))
    family = SimpleNamespace(providers={})

    plain = Observability()
    await register_dependencies(plain, family, services, Settings.from_env({}))
    assert set(plain.checks) == set()  # nothing configured: nothing to check

    observed = Observability()
    await register_dependencies(observed, family, services,
                                Settings.from_env({"APP_TRITON_URLS": "grpc://triton:8001"}))
    ok, report = await observed.readiness()
    assert not ok and report["triton"]["status"] == "down" and report["triton"]["error"] == "Unavailable"
    engine.ready = True
    ok, report = await observed.readiness()
    assert ok and report["triton"]["status"] == "up"

    m.RECORDINGS_ACTIVE.set(0)
    await observed.refresh()
    assert value("confero_recordings_active") == 2


async def test_nacks_the_sfu_sends_and_receives_are_counted_through_aiortcs_own_methods() -> None:
    from aiortc import RTCRtpReceiver, RTCRtpSender
    from aiortc.rtp import RTCP_RTPFB_NACK, RtcpRtpfbPacket

    from adapters.webrtc.observed import count_nacks

    count_nacks()
    count_nacks()  # once per process, however often the composition calls it
    sent, received = value("confero_sfu_nack_packets_total", direction="sent"), value(
        "confero_sfu_nack_packets_total", direction="received")
    rtcp: list[Any] = []
    retransmitted: list[int] = []

    async def send_rtcp(packet: Any) -> None:
        rtcp.append(packet)

    async def retransmit(seq: int) -> None:
        retransmitted.append(seq)

    # Stand-ins for a receiver and a sender with just the state aiortc's methods read.
    receiver = SimpleNamespace(_RTCRtpReceiver__rtcp_ssrc=1111, _send_rtcp=send_rtcp)
    await RTCRtpReceiver._send_rtcp_nack(receiver, 2222, [10, 11, 14])
    sender = SimpleNamespace(_retransmit=retransmit)
    nack = RtcpRtpfbPacket(fmt=RTCP_RTPFB_NACK, ssrc=3333, media_ssrc=4444)
    nack.lost = [7, 9]
    await RTCRtpSender._handle_rtcp_packet(sender, nack)

    assert [p.lost for p in rtcp] == [[10, 11, 14]] and retransmitted == [7, 9]  # aiortc still does its part
    assert value("confero_sfu_nack_packets_total", direction="sent") == sent + 3
    assert value("confero_sfu_nack_packets_total", direction="received") == received + 2


def test_every_confero_metric_follows_the_naming_conventions_and_has_only_bounded_labels() -> None:
    import adapters.postgres.observed  # noqa: F401  (instruments used by modules a process imports)
    import adapters.redis.observed  # noqa: F401
    import runners.web.app  # noqa: F401

    unbounded = {"user", "user_id", "meeting", "meeting_id", "room", "room_id", "connection", "socket", "session",
                 "instance", "path", "url", "email", "token", "recording_id", "analysis_id"}
    units = ("_seconds", "_bytes", "_bits_per_second")
    families = [f for f in REGISTRY.collect() if f.name.startswith("confero_")]
    assert len(families) > 40
    for family in families:
        if family.type == "counter":
            assert any(s.name.endswith("_total") for s in family.samples) or not family.samples, family.name
        if family.type == "histogram":
            assert family.name.endswith(units), family.name  # a histogram measures something with a unit
        assert not family.name.endswith(("_ms", "_milliseconds", "_kb")), family.name  # base units only
        for sample in family.samples:
            assert not set(sample.labels) & unbounded, (family.name, sample.labels)
    from prometheus_client.metrics import MetricWrapperBase

    declared = [i for i in vars(m).values() if isinstance(i, MetricWrapperBase)]
    assert len(declared) > 40
    for instrument in declared:  # label names as declared, also of series not seen yet
        assert not set(instrument._labelnames) & unbounded, (instrument._name, instrument._labelnames)


def test_counting_nacks_leaves_every_aiortc_internal_the_forwarding_core_checks_readable() -> None:
    # count_nacks wraps RTCRtpSender._handle_rtcp_packet, whose code find_problems reads: without
    # functools.wraps every later check in the process reported it as changed.
    from adapters.webrtc import aiortc_internals
    from adapters.webrtc.observed import count_nacks

    count_nacks()
    assert aiortc_internals.find_problems() == []
