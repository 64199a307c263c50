"""AnalysisJob <-> BSON document (plain fields, enums by value, datetimes as BSON dates)."""

from __future__ import annotations

from typing import Any

from domain.analysis.inference import Task
from domain.analysis.model import AnalysisInput, AnalysisJob, AnalysisStatus, InputSource


def to_document(job: AnalysisJob) -> dict[str, Any]:
    i = job.input
    return {
        "_id": job.id, "kind": job.kind.value, "requested_by": job.requested_by, "meeting_id": job.meeting_id,
        "participant_id": job.participant_id, "options": job.options, "status": job.status.value,
        "model": job.model, "model_version": job.model_version, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at, "confidence": job.confidence,
        "result": job.result, "error": job.error, "output_media_type": job.output_media_type,
        "input": {"source": i.source.value, "media_type": i.media_type, "size": i.size, "duration_s": i.duration_s,
                  "filename": i.filename, "blob_key": i.blob_key, "recording_id": i.recording_id,
                  "file_key": i.file_key, "texts": list(i.texts)},
    }


def from_document(d: dict[str, Any]) -> AnalysisJob:
    i = d["input"]
    return AnalysisJob(
        id=d["_id"], kind=Task(d["kind"]), requested_by=d["requested_by"], meeting_id=d["meeting_id"],
        participant_id=d["participant_id"], options=dict(d["options"]), status=AnalysisStatus(d["status"]),
        model=d["model"], model_version=d["model_version"], created_at=d["created_at"], started_at=d["started_at"],
        finished_at=d["finished_at"], confidence=d["confidence"], result=d["result"], error=d["error"],
        output_media_type=d["output_media_type"],
        input=AnalysisInput(source=InputSource(i["source"]), media_type=i["media_type"], size=i["size"],
                            duration_s=i["duration_s"], filename=i["filename"], blob_key=i["blob_key"],
                            recording_id=i["recording_id"], file_key=i["file_key"], texts=tuple(i["texts"])))
