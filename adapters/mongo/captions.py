"""Meeting transcripts on MongoDB: one document per final caption, keyed by the caption's id.

``_id`` is the caption id (MongoDB's own unique index), so a caption redelivered, or added by two
processes at once, is kept once: the loser's duplicate-key error is the expected outcome, not a
failure.  A compound index serves the transcript's order (meeting, start, id)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from adapters.mongo.errors import translated
from domain.captions.model import Caption
from domain.shared.ids import MeetingId, UserId

IN_ORDER = [("start_at", ASCENDING), ("_id", ASCENDING)]


def to_document(c: Caption) -> dict[str, Any]:
    return {"_id": c.id, "meeting_id": c.meeting_id, "speaker_id": c.speaker_id, "text": c.text,
            "start_at": c.start_at, "end_at": c.end_at}


def from_document(d: dict[str, Any]) -> Caption:
    return Caption(id=d["_id"], meeting_id=MeetingId(d["meeting_id"]), speaker_id=UserId(d["speaker_id"]),
                   text=d["text"], final=True, start_at=d["start_at"], end_at=d["end_at"])


class MongoTranscriptStore:
    def __init__(self, db: AsyncIOMotorDatabase, collection: str = "captions") -> None:
        self._captions = db[collection]

    async def create_indexes(self) -> None:
        """Idempotent; run at start (the composition root's resource does)."""
        with translated():
            await self._captions.create_index([("meeting_id", ASCENDING), *IN_ORDER], name="by_meeting")

    async def add(self, caption: Caption) -> None:
        if not caption.final:
            raise ValueError("only final captions make a transcript")
        try:
            with translated():
                await self._captions.insert_one(to_document(caption))
        except Exception as exc:  # translated() wraps the driver's error: look underneath
            if isinstance(exc, DuplicateKeyError) or isinstance(exc.__cause__, DuplicateKeyError):
                return
            raise

    async def transcript(self, meeting_id: MeetingId, *, since: dt.datetime | None = None,
                         until: dt.datetime | None = None, limit: int = 10_000) -> list[Caption]:
        if limit <= 0:
            return []
        query: dict[str, Any] = {"meeting_id": meeting_id}
        span = ({"$gte": since} if since is not None else {}) | ({"$lt": until} if until is not None else {})
        if span:
            query["start_at"] = span
        with translated():
            docs = await self._captions.find(query).sort(IN_ORDER).limit(limit).to_list(length=limit)
        return [from_document(d) for d in docs]

    async def delete(self, meeting_id: MeetingId) -> int:
        with translated():
            return int((await self._captions.delete_many({"meeting_id": meeting_id})).deleted_count)
