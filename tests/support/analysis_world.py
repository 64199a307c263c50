"""The analysis service on memory adapters and the fake engine, with a meeting to analyse."""

from __future__ import annotations

import datetime as dt

from attrs import define, evolve

from adapters.inprocess.model_catalogue import EngineModelCatalogue
from adapters.memory.analysis import InMemoryAnalysisStore
from adapters.memory.meetings import InMemoryMeetingRepository
from adapters.memory.outbox import InMemoryOutbox
from adapters.memory.recording_files import InMemoryRecordingFiles
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from adapters.memory.users import InMemoryUserRepository
from adapters.pyav.decoding import PyAvMediaDecoder
from adapters.system.clock import SystemClock
from domain.analysis.rules import AnalysisLimits
from domain.analysis.service import AnalysisService
from domain.meetings.model import Meeting
from domain.shared.actor import Actor
from domain.shared.ids import MeetingId, UserId, new_id
from runners.workers.analysis import BoundedAnalysisQueue
from tests.support.fake_inference import FakeInferenceEngine

HOST, MEMBER, OUTSIDER = Actor(UserId("host")), Actor(UserId("member")), Actor(UserId("outsider"))
ADMIN = Actor(UserId("admin"), is_admin=True)


@define
class AnalysisWorld:
    service: AnalysisService
    engine: FakeInferenceEngine
    store: InMemoryAnalysisStore
    meetings: InMemoryMeetingRepository
    outbox: InMemoryOutbox
    recordings: InMemoryRecordingFiles
    queue: BoundedAnalysisQueue

    async def meeting(self, *, allow_analysis: bool = True,
                      members: tuple[UserId, ...] = (HOST.user_id, MEMBER.user_id)) -> Meeting:
        """A meeting hosted by ``members[0]`` that they all joined."""
        now = dt.datetime.now(dt.timezone.utc)
        m = Meeting.schedule(meeting_id=MeetingId(new_id()), host_id=members[0], title="Standup", start_time=now,
                             now=now)
        m.settings = evolve(m.settings, allow_analysis=allow_analysis)
        for member in members:
            m.join(member, email=None, password_ok=None, now=now)
        m.pull_events()
        await self.meetings.add(m)
        return m


def analysis_world(limits: AnalysisLimits = AnalysisLimits(), backlog: int = 4) -> AnalysisWorld:
    engine, store, meetings, outbox = FakeInferenceEngine(), InMemoryAnalysisStore(), InMemoryMeetingRepository(), \
        InMemoryOutbox()
    recordings, queue = InMemoryRecordingFiles(), BoundedAnalysisQueue(concurrency=1, backlog=backlog)
    service = AnalysisService(store=store, engine=engine, catalogue=EngineModelCatalogue(engine),
                              decoder=PyAvMediaDecoder(), meetings=meetings, recordings=recordings, queue=queue,
                              uow=InMemoryUnitOfWorkFactory(meetings, InMemoryUserRepository(), outbox),
                              clock=SystemClock(), limits=limits)
    return AnalysisWorld(service, engine, store, meetings, outbox, recordings, queue)
