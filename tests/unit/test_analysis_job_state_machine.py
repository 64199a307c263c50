"""The AnalysisJob aggregate under random transitions: its docstring's invariants hold after every step."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.analysis.events import AnalysisCompleted, AnalysisFailed
from domain.analysis.inference import Task
from domain.analysis.model import AnalysisInput, AnalysisJob, AnalysisStateError, AnalysisStatus, InputSource
from domain.shared.ids import AnalysisId, UserId

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class JobMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.job = AnalysisJob.queue(analysis_id=AnalysisId("a"), kind=Task.TRANSCRIPTION, requested_by=UserId("u"),
                                     meeting_id=None, participant_id=None, options={}, now=T0,
                                     source=AnalysisInput(source=InputSource.UPLOAD))
        self.history: list[AnalysisStatus] = [self.job.status]
        self.events: list[object] = []

    def _step(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now

    @rule(seconds=st.floats(0, 10))
    def start(self, seconds: float) -> None:
        try:
            self.job.start(self._step(seconds))
        except AnalysisStateError:
            assert self.job.status is not AnalysisStatus.QUEUED

    @rule(seconds=st.floats(0, 10), confidence=st.none() | st.floats(0, 1))
    def complete(self, seconds: float, confidence: float | None) -> None:
        try:
            self.job.complete(model="m", model_version="1", result={"text": "x"}, confidence=confidence,
                              output_media_type=None, now=self._step(seconds))
        except AnalysisStateError:
            assert self.job.status is not AnalysisStatus.RUNNING

    @rule(seconds=st.floats(0, 10))
    def fail(self, seconds: float) -> None:
        try:
            self.job.fail(code="inference_unavailable", message="down", now=self._step(seconds))
        except AnalysisStateError:
            assert self.job.status.finished

    @rule()
    def pull(self) -> None:
        self.events += self.job.pull_events()

    @invariant()
    def status_only_moves_forward(self) -> None:
        order = [AnalysisStatus.QUEUED, AnalysisStatus.RUNNING, AnalysisStatus.COMPLETED]
        if self.job.status is not self.history[-1]:
            self.history.append(self.job.status)
        ranks = [order.index(s) if s in order else 3 for s in self.history]
        assert ranks == sorted(ranks) and len(set(self.history)) == len(self.history)

    @invariant()
    def a_finished_job_has_what_its_status_promises(self) -> None:
        j = self.job
        if j.status is AnalysisStatus.COMPLETED:
            assert j.model and j.result is not None and j.finished_at and j.error is None
        if j.status is AnalysisStatus.FAILED:
            assert j.error and j.finished_at and j.result is None
        if j.started_at and j.finished_at:
            assert j.started_at <= j.finished_at

    @invariant()
    def one_event_per_outcome(self) -> None:
        events = self.events + list(self.job._events)
        assert len(events) == (1 if self.job.status.finished else 0)
        if events:
            assert isinstance(events[0], AnalysisCompleted if self.job.status is AnalysisStatus.COMPLETED
                              else AnalysisFailed)

    @invariant()
    def a_copy_is_equal_and_independent(self) -> None:
        copy = self.job.copy()
        assert copy == self.job and copy.options is not self.job.options


TestAnalysisJob = JobMachine.TestCase
