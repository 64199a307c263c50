"""Everyone in the room is told when a recording starts and stops; a newcomer learns it on joining."""

from __future__ import annotations

from adapters.memory.blobs import InMemoryBlobStore
from tests.support.recording_fakes import FakeProcessor, FakeRoomRecorder
from tests.unit.signaling_support import Signaling, signaling, signaling_factory, web_factory  # noqa: F401
from tests.unit.web_support import API


def with_fakes(s: Signaling) -> None:
    service = s.web.services.recordings
    service.blobs = InMemoryBlobStore()
    service.recorder = FakeRoomRecorder(service.blobs)
    service.processor = FakeProcessor(service.blobs)


async def test_members_see_recording_start_and_stop_and_a_newcomer_finds_it_running(signaling: Signaling) -> None:
    s = signaling
    with_fakes(s)
    ann, bob, cy = await s.web.user("ann"), await s.web.user("bob"), await s.web.user("cyd")
    mid = await s.meeting(ann)
    a, state = await s.member(ann, mid)
    assert state["recording"] is None
    b, _ = await s.member(bob, mid)
    rec = await s.web.ok("POST", f"{API}/recordings", 201, who=ann, json={"meeting_id": mid})
    for c in (a, b):
        assert (await c.next("recording_started"))["data"] == {"room_id": mid, "recording_id": rec["id"],
                                                                "started_by": ann.id}
    _, state = await s.member(cy, mid)
    assert state["recording"]["recording_id"] == rec["id"] and state["recording"]["started_by"] == ann.id
    await s.web.ok("POST", f"{API}/recordings/{rec['id']}/stop", who=ann)
    for c in (a, b):
        assert (await c.next("recording_stopped"))["data"] == {"room_id": mid, "recording_id": rec["id"],
                                                                "reason": "stopped"}


async def test_the_meeting_s_end_stops_the_recording_for_the_room(signaling: Signaling) -> None:
    s = signaling
    with_fakes(s)
    ann = await s.web.user("ann")
    mid = await s.meeting(ann)
    a, _ = await s.member(ann, mid)
    rec = await s.web.ok("POST", f"{API}/recordings", 201, who=ann, json={"meeting_id": mid})
    await a.next("recording_started")
    await s.host_action(ann, f"{mid}/end")
    stopped = await a.next("recording_stopped")
    assert stopped["data"]["reason"] == "meeting_ended" and stopped["data"]["recording_id"] == rec["id"]
