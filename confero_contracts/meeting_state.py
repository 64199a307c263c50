"""MeetingState contract: what a signaling process tells a joining member about a running recording
(RecordingStatus, ports/rooms.py) and captions (CaptionedMeetings, ports/captions.py), read in process or
from the meetings service over gRPC (times to the millisecond: the wire carries Unix milliseconds).

The fixture ``harness`` is a MeetingStateHarness: the adapters under test (``recording_status``,
``captioned``) and ways to arrange meetings and recordings that go straight to the domain and the
repository, so only the adapters are on trial.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import pytest

from domain.rooms.recording import ActiveRecording
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, RecordingId, new_id
from ports.captions import CaptionedMeetings
from ports.rooms import RecordingStatus

MS = dt.timedelta(milliseconds=1)


class MeetingStateHarness(Protocol):
    recording_status: RecordingStatus
    captioned: CaptionedMeetings

    async def user(self, display_name: str) -> Actor: ...
    async def meeting(self, host: Actor) -> MeetingId: ...
    async def start(self, host: Actor, meeting_id: MeetingId) -> dt.datetime: ...  # when it went live
    async def captions(self, host: Actor, meeting_id: MeetingId, on: bool) -> None: ...
    async def end(self, host: Actor, meeting_id: MeetingId) -> None: ...
    async def recording(self, meeting_id: MeetingId, by: Actor, *, running: bool) -> ActiveRecording: ...
    async def stop_recording(self, recording_id: RecordingId) -> None: ...


def near(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    return a is not None and b is not None and abs(a - b) < MS


class MeetingStateContract:
    @pytest.fixture
    async def harness(self) -> MeetingStateHarness:
        raise NotImplementedError

    async def test_a_room_nobody_records_has_no_recording(self, harness):
        host = await harness.user("Hal")
        meeting = await harness.meeting(host)
        assert await harness.recording_status.active(meeting) is None
        assert await harness.recording_status.active(MeetingId(new_id())) is None

    async def test_a_running_recording_is_told_with_who_started_it_and_when(self, harness):
        host = await harness.user("Hal")
        meeting = await harness.meeting(host)
        await harness.start(host, meeting)
        made = await harness.recording(meeting, host, running=True)
        got = await harness.recording_status.active(meeting)
        assert got is not None
        assert (got.recording_id, got.started_by) == (made.recording_id, host.user_id)
        assert near(got.started_at, made.started_at)

    async def test_a_starting_recording_counts_and_has_no_start_time_yet(self, harness):
        host = await harness.user("Hal")
        meeting = await harness.meeting(host)
        made = await harness.recording(meeting, host, running=False)
        got = await harness.recording_status.active(meeting)
        assert got == ActiveRecording(recording_id=made.recording_id, started_by=host.user_id, started_at=None)

    async def test_a_stopped_recording_is_no_longer_told(self, harness):
        host = await harness.user("Hal")
        meeting = await harness.meeting(host)
        made = await harness.recording(meeting, host, running=True)
        await harness.stop_recording(RecordingId(made.recording_id))
        assert await harness.recording_status.active(meeting) is None

    async def test_captions_are_live_from_the_meetings_start_while_on(self, harness):
        host = await harness.user("Hal")
        meeting = await harness.meeting(host)
        assert await harness.captioned.live_since(meeting) is None  # not live yet
        started = await harness.start(host, meeting)
        assert await harness.captioned.live_since(meeting) is None  # live, captions off
        await harness.captions(host, meeting, True)
        assert near(await harness.captioned.live_since(meeting), started)
        await harness.captions(host, meeting, False)
        assert await harness.captioned.live_since(meeting) is None

    async def test_an_ended_or_unknown_meeting_is_not_captioned(self, harness):
        host = await harness.user("Hal")
        meeting = await harness.meeting(host)
        await harness.start(host, meeting)
        await harness.captions(host, meeting, True)
        await harness.end(host, meeting)
        assert await harness.captioned.live_since(meeting) is None
        assert await harness.captioned.live_since(MeetingId(new_id())) is None
