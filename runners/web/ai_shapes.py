"""Request and reply models of the AI routes (/api/v1/ai/...)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from domain.analysis.inference import ModelInfo, NodeHealth, Task
from domain.analysis.model import AnalysisJob, DENOISE_METHODS, ENHANCE_OPERATIONS, LABELS, NOTES
from domain.shared.pagination import Page
from runners.shapes import Id, NullableStamp, Shape, Stamp
from runners.shapes import text as text_field
from runners.web.replies import Reply

KindName = Literal[tuple(t.value for t in Task)]  # type: ignore[valid-type]
TEXT_KIND_NAMES = ("text_sentiment", "text_emotion")


class AnalysisOptions(Shape):
    method: Literal[DENOISE_METHODS] = Field(None, description="denoise: deepfilternet (default) or rnnoise")  # type: ignore[valid-type]
    operations: Annotated[list[Literal[ENHANCE_OPERATIONS]], Field(min_length=1, max_length=4)] = Field(  # type: ignore[valid-type]
        None, description="video_enhance: default low_light + denoise")
    prompt: text_field(500) = Field(None, description="transcription: words said just before, for continuity")


class AnalysisRequest(Shape, json_schema_extra={"description": (
        "Text for text_sentiment / text_emotion (`text` or `texts`), or a recorded file "
        "(`recording_id` + `file_key`) for any audio kind. Files are uploaded as multipart/form-data "
        "(AnalysisUpload).")}):
    kind: KindName
    text: text_field(5000, 1) = None
    texts: Annotated[list[text_field(5000, 1)], Field(min_length=1, max_length=100)] = None
    recording_id: text_field(64, 1) = None
    file_key: text_field(512, 1) = None
    meeting_id: Id = None
    participant_id: Id = None
    options: AnalysisOptions = None


class AnalysisUpload(Shape, json_schema_extra={"description": (
        "multipart/form-data: `kind` and `file` (audio in any container FFmpeg reads, or an image for "
        "video_enhance), optional `meeting_id`, `participant_id`, `method`, `operations` (comma-separated), "
        "`prompt`.")}):
    kind: KindName
    file: Annotated[str, Field(json_schema_extra={"format": "binary"})]
    meeting_id: Id = None
    participant_id: Id = None
    method: Literal[DENOISE_METHODS] = None  # type: ignore[valid-type]
    operations: str = None
    prompt: str = None


class AnalysisInputView(Reply):
    source: Literal["upload", "recording", "text"]
    media_type: str
    size: int
    duration_s: float | None
    filename: str | None
    recording_id: str | None
    file_key: str | None
    text_count: int


class AnalysisError(Reply):
    code: str
    message: str


class Analysis(Reply):
    id: Id
    kind: KindName
    label: str = Field(description="what the analysis honestly is (never 'deepfake detection' or 'voice emotion')")
    note: str | None
    status: Literal["queued", "running", "completed", "failed"]
    input: AnalysisInputView
    requested_by: Id
    meeting_id: Id | None
    participant_id: Id | None
    options: dict[str, Any]
    model: str | None
    model_version: str | None
    created_at: Stamp
    started_at: NullableStamp
    finished_at: NullableStamp
    queued_s: float | None
    run_s: float | None
    confidence: float | None
    result: dict[str, Any] | None
    error: AnalysisError | None
    output_url: str | None = Field(description="where a denoised file or an enhanced frame is downloaded")

    @classmethod
    def of(cls, j: AnalysisJob) -> Analysis:
        i = j.input
        return cls.make(
            id=j.id, kind=j.kind.value, label=LABELS[j.kind], note=NOTES.get(j.kind), status=j.status.value,
            input=AnalysisInputView.make(source=i.source.value, media_type=i.media_type, size=i.size,
                                         duration_s=i.duration_s, filename=i.filename, recording_id=i.recording_id,
                                         file_key=i.file_key, text_count=len(i.texts)),
            requested_by=j.requested_by, meeting_id=j.meeting_id, participant_id=j.participant_id,
            options=j.options, model=j.model, model_version=j.model_version, created_at=j.created_at,
            started_at=j.started_at, finished_at=j.finished_at, queued_s=j.queued_s, run_s=j.run_s,
            confidence=j.confidence, result=j.result,
            error=AnalysisError.make(**j.error) if j.error else None,
            output_url=f"/api/v1/ai/analyses/{j.id}/output" if j.output_media_type else None)


class AnalysisPage(Reply):
    items: list[Analysis]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, p: Page[AnalysisJob]) -> AnalysisPage:
        return cls.make(items=[Analysis.of(j) for j in p.items], total=p.total, offset=p.offset, limit=p.limit)


class AiModel(Reply):
    name: str
    version: str
    task: KindName
    label: str
    description: str


class AiModelList(Reply):
    items: list[AiModel]

    @classmethod
    def of(cls, models: list[ModelInfo]) -> AiModelList:
        return cls.make(items=[AiModel.make(name=m.name, version=m.version, task=m.task.value, label=LABELS[m.task],
                                            description=m.description) for m in models])


class InferenceNode(Reply):
    endpoint: str
    ready: bool
    models_ready: list[str]
    error: str | None


class InferenceNodeList(Reply):
    ready: bool
    items: list[InferenceNode]

    @classmethod
    def of(cls, nodes: list[NodeHealth]) -> InferenceNodeList:
        return cls.make(ready=any(n.ready for n in nodes), items=[
            InferenceNode.make(endpoint=n.endpoint, ready=n.ready, models_ready=list(n.models_ready), error=n.error)
            for n in nodes])
