"""The Recording aggregate: one recording of one meeting, from the host's start to its files."""

from __future__ import annotations

import datetime as dt
import enum

from attrs import define, evolve, field

from domain.recordings import errors as e
from domain.recordings import events as ev
from domain.recordings.media import RecordedFile
from domain.shared.events import DomainEvent
from domain.shared.ids import MeetingId, RecordingId, UserId


class RecordingState(enum.Enum):
    STARTING = "starting"
    RECORDING = "recording"
    STOPPING = "stopping"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_active(self) -> bool:
        """The room's media is (about to be) taped: at most one such recording per meeting."""
        return self in ACTIVE

    @property
    def is_terminal(self) -> bool:
        return self in (RecordingState.COMPLETED, RecordingState.FAILED)


ACTIVE = frozenset({RecordingState.STARTING, RecordingState.RECORDING, RecordingState.STOPPING})
REASON_MAX = 500


@define(kw_only=True)
class Recording:
    """A recording of a meeting.

    Invariants (checked by tests/unit/test_recording_state_machine.py):
    - the state only moves along starting -> recording -> stopping -> processing -> completed, and from
      any state that is not terminal to failed; completed and failed are final;
    - ``failure_reason`` is set exactly when the state is failed;
    - ``progress`` is in [0, 1], never goes back, and is 1 when completed;
    - ``started_at`` is set once the recorder runs (None if it was stopped or failed while starting);
      ``stopped_at`` once stopping began or it failed while recording, and never before ``started_at``; ``finished_at`` exactly in the terminal states;
    - ``files`` only grow: the per-participant files arrive with processing, the meeting file with
      completion (``meeting_file``);
    - every change bumps nothing by itself: ``version`` is the repository's (optimistic concurrency);
    - ``owner`` (the instance id of the process whose recorder runs it) and ``lease_until`` are the
      repository's too: set when it is added, then only by its lease methods (ports/recordings.py), so
      several processes over one store never take over a recording another live process still runs.
    """

    id: RecordingId
    meeting_id: MeetingId
    started_by: UserId
    state: RecordingState = RecordingState.STARTING
    files: tuple[RecordedFile, ...] = ()
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    stopped_by: UserId | None = None
    failure_reason: str | None = None
    progress: float = 0.0
    owner: str | None = None
    lease_until: dt.datetime | None = None
    version: int = 0
    _events: list[DomainEvent] = field(factory=list, eq=False, repr=False, alias="_events")

    @classmethod
    def begin(cls, *, recording_id: RecordingId, meeting_id: MeetingId, started_by: UserId,
              now: dt.datetime, owner: str | None = None, lease: dt.timedelta | None = None) -> Recording:
        return cls(id=recording_id, meeting_id=meeting_id, started_by=started_by, created_at=now, owner=owner,
                   lease_until=now + lease if lease is not None else None)

    @property
    def key_prefix(self) -> str:
        return f"recordings/{self.meeting_id}/{self.id}"

    def held_by_other(self, instance: str, now: dt.datetime) -> bool:
        """Another process renews this recording's lease: it is running there, hands off.  A recording
        without an owner (older rows) or whose lease ran out belongs to whoever claims it."""
        return (self.owner is not None and self.owner != instance and self.lease_until is not None
                and self.lease_until > now)

    @property
    def meeting_file(self) -> RecordedFile | None:
        return next((f for f in self.files if f.user_id is None), None)

    # -- transitions -------------------------------------------------------------------------------

    def recorder_started(self, *, now: dt.datetime) -> None:
        self._require(RecordingState.STARTING, "the recording is not starting")
        self.state = RecordingState.RECORDING
        self.started_at = now
        self._record(ev.RecordingStarted(occurred_at=now, recording_id=self.id, meeting_id=self.meeting_id,
                                         started_by=self.started_by))

    def stop(self, *, by: UserId | None, now: dt.datetime) -> None:
        """Stopping twice (or a recording that already ended) raises RecordingNotActive."""
        if self.state not in (RecordingState.STARTING, RecordingState.RECORDING):
            raise e.RecordingNotActive("the recording is not running", recording_id=self.id,
                                       state=self.state.value)
        self.state = RecordingState.STOPPING
        self.stopped_at = now
        self.stopped_by = by
        self._record(ev.RecordingStopped(occurred_at=now, recording_id=self.id, meeting_id=self.meeting_id, by=by))

    def files_recorded(self, files: list[RecordedFile] | tuple[RecordedFile, ...]) -> None:
        self._require(RecordingState.STOPPING, "the recording is not stopping")
        self.state = RecordingState.PROCESSING
        self.files = self.files + tuple(f for f in files if f.user_id is not None)

    def report_progress(self, fraction: float) -> None:
        self._require(RecordingState.PROCESSING, "the recording is not being processed")
        self.progress = max(self.progress, min(1.0, max(0.0, fraction)))

    def complete(self, meeting_file: RecordedFile | None, *, now: dt.datetime) -> None:
        """``meeting_file`` None: there was nothing to combine (nobody published); the recording is done."""
        self._require(RecordingState.PROCESSING, "the recording is not being processed")
        if meeting_file is not None:
            self.files = (*self.files, evolve(meeting_file, user_id=None))
        self.state = RecordingState.COMPLETED
        self.progress = 1.0
        self.finished_at = now
        self._record(ev.RecordingCompleted(occurred_at=now, recording_id=self.id, meeting_id=self.meeting_id,
                                           files=len(self.files)))

    def fail(self, reason: str, *, now: dt.datetime) -> None:
        if self.state.is_terminal:
            raise e.InvalidRecordingTransition("the recording has ended already", recording_id=self.id,
                                               state=self.state.value)
        was_recording = self.state in (RecordingState.STARTING, RecordingState.RECORDING)
        if was_recording and self.started_at is not None:
            self.stopped_at = now
        self.state = RecordingState.FAILED
        self.failure_reason = (reason.strip() or "unknown failure")[:REASON_MAX]
        self.finished_at = now
        self._record(ev.RecordingFailed(occurred_at=now, recording_id=self.id, meeting_id=self.meeting_id,
                                        reason=self.failure_reason, was_recording=was_recording))

    def delete(self, *, by: UserId, now: dt.datetime) -> None:
        """Marks the deletion (the service removes the objects, the repository the row); only a
        recording that ended (completed or failed) can go."""
        if not self.state.is_terminal:
            raise e.RecordingStillActive("the recording is still running or being processed; stop it and "
                                         "wait until it completes", recording_id=self.id, state=self.state.value)
        self._record(ev.RecordingDeleted(occurred_at=now, recording_id=self.id, meeting_id=self.meeting_id, by=by))

    # -- plumbing ----------------------------------------------------------------------------------

    def pull_events(self) -> list[DomainEvent]:
        out, self._events = self._events, []
        return out

    def copy(self) -> Recording:
        return evolve(self, _events=[])

    def _record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def _require(self, state: RecordingState, message: str) -> None:
        if self.state is not state:
            raise e.InvalidRecordingTransition(message, recording_id=self.id, state=self.state.value)
