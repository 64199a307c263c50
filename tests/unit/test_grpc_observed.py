"""Every gRPC call is a CLIENT span in the caller and a SERVER span (its child, through the traceparent in the
metadata) in the server, with calls counted by service, method and status code on both sides and timed:
the two choke points of adapters/grpc/observed.py, over real grpclib on 127.0.0.1."""

from __future__ import annotations

import pytest
from grpclib.const import Status
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from adapters.grpc import observed
from adapters.grpc.client import CallPolicy, RpcClient
from adapters.grpc.meeting_access import GrpcMeetingAccess
from domain.meetings.errors import MeetingNotFound
from domain.rooms.model import Admission
from domain.shared.actor import Actor
from domain.shared.errors import Unavailable
from domain.shared.ids import MeetingId, UserId, new_id
from runners.rpc.meetings import MeetingAccessServicer
from runners.rpc.server import bound_port, serving
from tests.support.grpc_world import SECRET

ALICE = Actor(UserId(new_id()))
ROOM = MeetingId(new_id())
SERVICE = "confero.meetings.v1.MeetingAccess"
ONCE = CallPolicy(timeout=5.0, attempts=1)


class Access:
    """Departs fine; admits into no meeting."""

    async def admit(self, actor: Actor, meeting_id: MeetingId, password: str | None) -> Admission:
        raise MeetingNotFound("no such meeting", meeting_id=meeting_id)

    async def depart(self, actor: Actor, meeting_id: MeetingId) -> None:
        return None

    async def require_manager(self, actor: Actor, meeting_id: MeetingId) -> None:
        raise RuntimeError("a bug in the handler")


@pytest.fixture
def spans(monkeypatch):
    """A tracer of its own (the process-wide provider stays the no-op one for the rest of the session)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(observed, "tracer", provider.get_tracer("test"))
    return exporter


@pytest.fixture
async def remote():
    async with serving([MeetingAccessServicer(Access(), (SECRET,))], "127.0.0.1", 0) as server:
        async with RpcClient("127.0.0.1", bound_port(server), SECRET, ONCE) as client:
            yield GrpcMeetingAccess(client)


def counted(side: str, method: str, code: str) -> float:
    return REGISTRY.get_sample_value(f"confero_grpc_{side}_handled_total",
                                     {"grpc_service": SERVICE, "grpc_method": method, "grpc_code": code}) or 0.0


def timed(side: str, method: str) -> float:
    return REGISTRY.get_sample_value(f"confero_grpc_{side}_handling_seconds_count",
                                     {"grpc_service": SERVICE, "grpc_method": method}) or 0.0


async def test_a_call_is_a_client_span_with_the_server_span_as_its_child(spans, remote):
    await remote.depart(ALICE, ROOM)
    client, server = (next(s for s in spans.get_finished_spans() if s.kind is kind)
                      for kind in (SpanKind.CLIENT, SpanKind.SERVER))
    assert client.name == server.name == f"{SERVICE}/Depart"
    assert server.context.trace_id == client.context.trace_id
    assert server.parent is not None and server.parent.span_id == client.context.span_id and server.parent.is_remote
    for span in (client, server):
        assert dict(span.attributes).items() >= {"rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": "Depart",
                                                 "rpc.grpc.status_code": 0}.items()
        assert span.status.status_code is StatusCode.UNSET
    assert server.attributes["request.id"]  # the guard's, on the observer's span


async def test_a_domain_error_is_its_status_on_both_sides_and_an_error_only_for_the_caller(spans, remote):
    before = counted("server", "Admit", "NOT_FOUND"), counted("client", "Admit", "NOT_FOUND")
    with pytest.raises(MeetingNotFound):
        await remote.admit(ALICE, ROOM, None)
    assert (counted("server", "Admit", "NOT_FOUND"), counted("client", "Admit", "NOT_FOUND")) == \
           (before[0] + 1, before[1] + 1)
    by_kind = {s.kind: s for s in spans.get_finished_spans()}
    assert by_kind[SpanKind.SERVER].attributes["rpc.grpc.status_code"] == Status.NOT_FOUND.value
    assert by_kind[SpanKind.SERVER].status.status_code is StatusCode.UNSET  # the caller's mistake, not the server's
    assert by_kind[SpanKind.CLIENT].status.status_code is StatusCode.ERROR


async def test_a_crashing_handler_is_unknown_and_an_error_on_the_server(spans, remote):
    before = counted("server", "RequireManager", "UNKNOWN")
    with pytest.raises(Unavailable):
        await remote.require_manager(ALICE, ROOM)
    assert counted("server", "RequireManager", "UNKNOWN") == before + 1
    [server] = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.status.status_code is StatusCode.ERROR


async def test_calls_are_counted_and_timed_on_both_sides(remote):
    before = [counted("server", "Depart", "OK"), counted("client", "Depart", "OK"),
              timed("server", "Depart"), timed("client", "Depart")]
    await remote.depart(ALICE, ROOM)
    await remote.depart(ALICE, ROOM)
    assert [counted("server", "Depart", "OK"), counted("client", "Depart", "OK"),
            timed("server", "Depart"), timed("client", "Depart")] == [b + 2 for b in before]


async def test_a_server_that_is_down_is_an_unavailable_attempt_for_the_client(spans):
    before = counted("client", "Depart", "UNAVAILABLE")
    async with RpcClient("127.0.0.1", 1, SECRET, ONCE) as client:
        with pytest.raises(Unavailable):
            await GrpcMeetingAccess(client).depart(ALICE, ROOM)
    assert counted("client", "Depart", "UNAVAILABLE") == before + 1
    [span] = spans.get_finished_spans()
    assert span.kind is SpanKind.CLIENT and span.attributes["rpc.grpc.status_code"] == Status.UNAVAILABLE.value


def test_paths_split_into_service_and_method():
    assert observed.split("/confero.users.v1.UsersService/Authenticate") == ("confero.users.v1.UsersService",
                                                                           "Authenticate")
    assert observed.split("nonsense") == ("unknown", "nonsense")
