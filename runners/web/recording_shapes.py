"""Request and reply bodies of the recording routes (runners/web/handlers/recordings.py)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from pydantic import Field

from domain.recordings.media import RecordedFile as RecordedFileValue
from domain.recordings.model import Recording as RecordingAggregate
from domain.recordings.service import FileLink, RecordingDetails
from runners.shapes import Id, NullableStamp, Shape, Stamp, iso
from runners.web.replies import Reply

State = Literal["starting", "recording", "stopping", "processing", "completed", "failed"]


class StartRecordingRequest(Shape):
    meeting_id: Id


class RecordingFile(Reply):
    name: str
    kind: Literal["participant", "meeting"]
    user_id: Id | None
    content_type: str
    size: int
    duration_s: float
    started_at: Stamp
    ended_at: Stamp
    has_video: bool
    has_audio: bool
    download_url: str | None = None
    download_expires_at: NullableStamp = None

    @classmethod
    def of(cls, f: RecordedFileValue, link: FileLink | None = None) -> RecordingFile:
        extra = {} if link is None else {"download_url": link.url, "download_expires_at": link.expires_at}
        return cls.make(name=f.key.rsplit("/", 1)[-1], kind="meeting" if f.user_id is None else "participant",
                        user_id=f.user_id, content_type=f.content_type, size=f.size, duration_s=f.duration_s,
                        started_at=f.started_at, ended_at=f.ended_at, has_video=f.has_video,
                        has_audio=f.has_audio, **extra)


class Recording(Reply):
    id: Id
    meeting_id: Id
    state: State
    started_by: Id
    stopped_by: Id | None
    created_at: Stamp
    started_at: NullableStamp
    stopped_at: NullableStamp
    finished_at: NullableStamp
    failure_reason: str | None
    progress: float
    files: list[RecordingFile]
    transcript_url: Annotated[str | None, Field(description=(
        "the meeting's transcript over the recording's span, as WebVTT subtitles timed from the recording's "
        "start (GET, same access as the meeting's transcript; empty when captions were off); null before "
        "the recording started"))] = None

    @classmethod
    def of(cls, r: RecordingAggregate, links: tuple[FileLink, ...] = ()) -> Recording:
        by_key = {link.file.key: link for link in links}
        return cls.make(id=r.id, meeting_id=r.meeting_id, state=r.state.value, started_by=r.started_by,
                        stopped_by=r.stopped_by, created_at=r.created_at, started_at=r.started_at,
                        stopped_at=r.stopped_at, finished_at=r.finished_at, failure_reason=r.failure_reason,
                        progress=r.progress, files=[RecordingFile.of(f, by_key.get(f.key)) for f in r.files],
                        transcript_url=transcript_url(r))

    @classmethod
    def with_links(cls, details: RecordingDetails) -> Recording:
        return cls.of(details.recording, details.links)


def transcript_url(r: RecordingAggregate) -> str | None:
    """The transcript of the recording's span: from its start to its stop (open while it runs)."""
    if r.started_at is None:
        return None
    span = {"format": "vtt", "from": iso(r.started_at)}
    if r.stopped_at is not None:
        span["to"] = iso(r.stopped_at)
    return f"/api/v1/meetings/{r.meeting_id}/transcript?{urlencode(span)}"


class RecordingList(Reply):
    meeting_id: Id
    items: list[Recording]
