"""Analysis results in a dict: the embedded default and the oracle for the MongoDB store."""

from __future__ import annotations

import datetime as dt

from domain.analysis.errors import AnalysisNotFound, NoOutput
from domain.analysis.model import AnalysisJob
from domain.shared.ids import AnalysisId, MeetingId, UserId
from domain.shared.pagination import Page, PageRequest


def to_millisecond(value: dt.datetime | None) -> dt.datetime | None:
    """The store keeps times to the millisecond, as BSON dates do."""
    return None if value is None else value.replace(microsecond=value.microsecond // 1000 * 1000)


def as_stored(job: AnalysisJob) -> AnalysisJob:
    copy = job.copy()
    copy.created_at = to_millisecond(copy.created_at)  # type: ignore[assignment]
    copy.started_at, copy.finished_at = to_millisecond(copy.started_at), to_millisecond(copy.finished_at)
    return copy


class InMemoryAnalysisStore:
    def __init__(self) -> None:
        self._jobs: dict[AnalysisId, AnalysisJob] = {}
        self._outputs: dict[AnalysisId, tuple[bytes, str]] = {}

    async def put(self, job: AnalysisJob) -> None:
        self._jobs[job.id] = as_stored(job)

    async def get(self, analysis_id: AnalysisId) -> AnalysisJob:
        try:
            return self._jobs[analysis_id].copy()
        except KeyError:
            raise AnalysisNotFound("no such analysis", analysis_id=analysis_id) from None

    async def list_for_meeting(self, meeting_id: MeetingId, page: PageRequest) -> Page[AnalysisJob]:
        return self._page([j for j in self._jobs.values() if j.meeting_id == meeting_id], page)

    async def list_for_user(self, user_id: UserId, page: PageRequest) -> Page[AnalysisJob]:
        return self._page([j for j in self._jobs.values() if j.requested_by == user_id], page)

    async def put_output(self, analysis_id: AnalysisId, data: bytes, media_type: str) -> None:
        self._outputs[analysis_id] = (bytes(data), media_type)

    async def get_output(self, analysis_id: AnalysisId) -> tuple[bytes, str]:
        try:
            return self._outputs[analysis_id]
        except KeyError:
            raise NoOutput("this analysis has no downloadable output", analysis_id=analysis_id) from None

    @staticmethod
    def _page(found: list[AnalysisJob], page: PageRequest) -> Page[AnalysisJob]:
        found.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        items = tuple(j.copy() for j in found[page.offset:page.offset + page.limit])
        return Page(items=items, total=len(found), offset=page.offset, limit=page.limit)
