"""Random walks over the pure Recording aggregate: every step predicts its outcome from the state
alone, and the invariants repeat the aggregate's docstring."""

from __future__ import annotations

import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.recordings import errors as e
from domain.recordings import events as ev
from domain.recordings.media import RecordedFile
from domain.recordings.model import Recording, RecordingState
from domain.shared.ids import MeetingId, RecordingId, UserId

S = RecordingState
T0 = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.timezone.utc)
NEXT = {S.STARTING: {S.STARTING, S.RECORDING, S.STOPPING, S.FAILED},
        S.RECORDING: {S.RECORDING, S.STOPPING, S.FAILED},
        S.STOPPING: {S.STOPPING, S.PROCESSING, S.FAILED},
        S.PROCESSING: {S.PROCESSING, S.COMPLETED, S.FAILED},
        S.COMPLETED: {S.COMPLETED}, S.FAILED: {S.FAILED}}


def a_file(user: str | None, n: int) -> RecordedFile:
    return RecordedFile(key=f"recordings/m/r/{n}.webm", user_id=UserId(user) if user else None,
                        content_type="video/webm", size=1000 + n, duration_s=float(n), started_at=T0,
                        ended_at=T0 + dt.timedelta(seconds=n), has_video=True, has_audio=True)


class RecordingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.rec = Recording.begin(recording_id=RecordingId("r"), meeting_id=MeetingId("m"),
                                   started_by=UserId("host"), now=T0)
        self.now = T0
        self.previous = self.rec.state
        self.previous_progress = 0.0
        self.previous_files = 0
        self.events: list[object] = []

    def _tick(self) -> dt.datetime:
        self.previous, self.previous_progress, self.previous_files = (
            self.rec.state, self.rec.progress, len(self.rec.files))
        self.now += dt.timedelta(seconds=1)
        return self.now

    def _drain(self) -> None:
        self.events.extend(self.rec.pull_events())

    @rule()
    def recorder_started(self) -> None:
        before = self.rec.state
        try:
            self.rec.recorder_started(now=self._tick())
        except e.InvalidRecordingTransition:
            assert before is not S.STARTING
        else:
            assert before is S.STARTING and self.rec.state is S.RECORDING
        self._drain()

    @rule(by=st.sampled_from([None, "host", "cohost"]))
    def stop(self, by: str | None) -> None:
        before = self.rec.state
        try:
            self.rec.stop(by=UserId(by) if by else None, now=self._tick())
        except e.RecordingNotActive:
            assert before not in (S.STARTING, S.RECORDING)
        else:
            assert self.rec.state is S.STOPPING
        self._drain()

    @rule(users=st.lists(st.sampled_from(["a", "b", "c"]), max_size=3))
    def files_recorded(self, users: list[str]) -> None:
        before = self.rec.state
        try:
            self.rec.files_recorded([a_file(u, n) for n, u in enumerate(users)])
            self._tick()
        except e.InvalidRecordingTransition:
            assert before is not S.STOPPING
        else:
            assert self.rec.state is S.PROCESSING

    @rule(fraction=st.floats(-1, 2, allow_nan=False))
    def progress(self, fraction: float) -> None:
        before = self.rec.state
        self._tick()
        try:
            self.rec.report_progress(fraction)
        except e.InvalidRecordingTransition:
            assert before is not S.PROCESSING

    @rule(with_file=st.booleans())
    def complete(self, with_file: bool) -> None:
        before = self.rec.state
        try:
            self.rec.complete(a_file("x", 9) if with_file else None, now=self._tick())
        except e.InvalidRecordingTransition:
            assert before is not S.PROCESSING
        else:
            assert self.rec.state is S.COMPLETED and (self.rec.meeting_file is not None) == with_file
        self._drain()

    @rule(reason=st.text(max_size=600))
    def fail(self, reason: str) -> None:
        before = self.rec.state
        try:
            self.rec.fail(reason, now=self._tick())
        except e.InvalidRecordingTransition:
            assert before.is_terminal
        else:
            assert self.rec.state is S.FAILED
        self._drain()

    @rule()
    def delete(self) -> None:
        before = self.rec.state
        try:
            self.rec.delete(by=UserId("host"), now=self._tick())
        except e.RecordingStillActive:
            assert not before.is_terminal
        else:
            assert before.is_terminal
        self._drain()

    @invariant()
    def state_moves_only_forward(self) -> None:
        assert self.rec.state in NEXT[self.previous]

    @invariant()
    def a_reason_exactly_when_failed(self) -> None:
        assert (self.rec.failure_reason is not None) == (self.rec.state is S.FAILED)
        if self.rec.failure_reason is not None:
            assert 0 < len(self.rec.failure_reason) <= 500

    @invariant()
    def progress_in_range_never_back_and_full_when_completed(self) -> None:
        assert 0.0 <= self.rec.progress <= 1.0
        assert self.rec.progress >= self.previous_progress
        assert self.rec.state is not S.COMPLETED or self.rec.progress == 1.0

    @invariant()
    def times_follow_the_state(self) -> None:
        r = self.rec
        assert (r.finished_at is not None) == r.state.is_terminal
        if r.state is S.RECORDING:
            assert r.started_at is not None and r.stopped_at is None
        if r.state in (S.STOPPING, S.PROCESSING, S.COMPLETED):
            assert r.stopped_at is not None
        if r.started_at is not None and r.stopped_at is not None:
            assert r.stopped_at >= r.started_at

    @invariant()
    def files_only_grow_and_the_meeting_file_comes_last(self) -> None:
        assert len(self.rec.files) >= self.previous_files
        assert all(f.user_id is not None for f in self.rec.files[:-1])
        if self.rec.meeting_file is not None:
            assert self.rec.state is S.COMPLETED

    @invariant()
    def the_room_hears_of_a_start_only_with_a_stop_or_failure_after_it(self) -> None:
        names = [type(x) for x in self.events]
        if self.rec.state.is_terminal or self.rec.state in (S.STOPPING, S.PROCESSING):
            if ev.RecordingStarted in names:
                after = names[names.index(ev.RecordingStarted) + 1:]
                assert ev.RecordingStopped in after or any(
                    isinstance(x, ev.RecordingFailed) and x.was_recording for x in self.events)


TestRecordingStateMachine = RecordingMachine.TestCase
TestRecordingStateMachine.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
