"""The analysis store on MongoDB: one document per job, outputs in their own collection.

Only what a real MongoDB does: single-document upserts (idempotent by ``_id``), compound indexes that
serve the two listings (newest first, id as tie-break), offset pagination with a count.  No
transactions and no change streams (the CI's wire-compatible server has neither)."""

from __future__ import annotations

from bson import Binary
from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import DESCENDING

from adapters.mongo.analysis_codec import from_document, to_document
from adapters.mongo.errors import translated
from domain.analysis.errors import AnalysisNotFound, NoOutput
from domain.analysis.model import AnalysisJob
from domain.shared.ids import AnalysisId, MeetingId, UserId
from domain.shared.pagination import Page, PageRequest

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


class MongoAnalysisStore:
    def __init__(self, db: AsyncIOMotorDatabase, prefix: str = "analysis") -> None:
        self._jobs = db[f"{prefix}_jobs"]
        self._outputs = db[f"{prefix}_outputs"]

    async def create_indexes(self) -> None:
        """Idempotent; run at start (the composition root's resource does)."""
        with translated():
            await self._jobs.create_index([("meeting_id", DESCENDING), *NEWEST_FIRST], name="by_meeting")
            await self._jobs.create_index([("requested_by", DESCENDING), *NEWEST_FIRST], name="by_requester")

    async def ping(self) -> None:
        """Readiness: raises Unavailable when the server does not answer (runners/observability)."""
        with translated():
            await self._jobs.database.command("ping")

    async def put(self, job: AnalysisJob) -> None:
        with translated():
            await self._jobs.replace_one({"_id": job.id}, to_document(job), upsert=True)

    async def get(self, analysis_id: AnalysisId) -> AnalysisJob:
        with translated():
            doc = await self._jobs.find_one({"_id": analysis_id})
        if doc is None:
            raise AnalysisNotFound("no such analysis", analysis_id=analysis_id)
        return from_document(doc)

    async def list_for_meeting(self, meeting_id: MeetingId, page: PageRequest) -> Page[AnalysisJob]:
        return await self._page({"meeting_id": meeting_id}, page)

    async def list_for_user(self, user_id: UserId, page: PageRequest) -> Page[AnalysisJob]:
        return await self._page({"requested_by": user_id}, page)

    async def put_output(self, analysis_id: AnalysisId, data: bytes, media_type: str) -> None:
        with translated():
            await self._outputs.replace_one({"_id": analysis_id},
                                            {"_id": analysis_id, "data": Binary(data), "media_type": media_type},
                                            upsert=True)

    async def get_output(self, analysis_id: AnalysisId) -> tuple[bytes, str]:
        with translated():
            doc = await self._outputs.find_one({"_id": analysis_id})
        if doc is None:
            raise NoOutput("this analysis has no downloadable output", analysis_id=analysis_id)
        return bytes(doc["data"]), doc["media_type"]

    async def _page(self, query: dict[str, str], page: PageRequest) -> Page[AnalysisJob]:
        with translated():
            total = await self._jobs.count_documents(query)
            cursor = self._jobs.find(query).sort(NEWEST_FIRST).skip(page.offset).limit(page.limit)
            docs = await cursor.to_list(length=page.limit)
        return Page(items=tuple(map(from_document, docs)), total=total, offset=page.offset, limit=page.limit)
