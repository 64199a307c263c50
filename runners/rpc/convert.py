"""Domain values <-> the generated messages (proto/confero/analysis/v1)."""

from __future__ import annotations

import json

from domain.analysis.inference import ModelInfo, NodeHealth, Segment, Task
from domain.analysis.model import LABELS, NOTES, AnalysisJob, AnalysisStatus
from domain.analysis.service import Caption
from domain.shared.pagination import Page
from proto.confero.analysis import v1 as pb

STATUS = {AnalysisStatus.QUEUED: pb.Status.QUEUED, AnalysisStatus.RUNNING: pb.Status.RUNNING,
          AnalysisStatus.COMPLETED: pb.Status.COMPLETED, AnalysisStatus.FAILED: pb.Status.FAILED}


def kind_to_pb(task: Task) -> pb.Kind:
    return pb.Kind[task.name]


def kind_from_pb(kind: pb.Kind) -> Task | None:
    try:
        return Task[pb.Kind(kind).name]
    except (KeyError, ValueError):
        return None


def analysis(j: AnalysisJob) -> pb.Analysis:
    out = pb.Analysis(
        id=j.id, kind=kind_to_pb(j.kind), label=LABELS[j.kind], note=NOTES.get(j.kind, ""), status=STATUS[j.status],
        requested_by=j.requested_by, meeting_id=j.meeting_id or "", participant_id=j.participant_id or "",
        model=j.model or "", model_version=j.model_version or "", created_at=j.created_at,
        confidence=j.confidence, result_json=json.dumps(j.result) if j.result is not None else "",
        error_code=(j.error or {}).get("code", ""), error_message=(j.error or {}).get("message", ""),
        has_output=j.output_media_type is not None)
    if j.started_at is not None:
        out.started_at = j.started_at
    if j.finished_at is not None:
        out.finished_at = j.finished_at
    return out


def page(p: Page[AnalysisJob]) -> pb.AnalysisPage:
    return pb.AnalysisPage(items=[analysis(j) for j in p.items], total=p.total, offset=p.offset, limit=p.limit)


def models(found: list[ModelInfo]) -> pb.ModelList:
    return pb.ModelList(items=[pb.Model(name=m.name, version=m.version, task=kind_to_pb(m.task), label=LABELS[m.task],
                                        description=m.description) for m in found])


def nodes(found: list[NodeHealth]) -> pb.NodeList:
    return pb.NodeList(ready=any(n.ready for n in found), items=[
        pb.Node(endpoint=n.endpoint, ready=n.ready, models_ready=list(n.models_ready), error=n.error or "")
        for n in found])


def _segment(s: Segment, offset: float) -> pb.TranscriptSegment:
    return pb.TranscriptSegment(start_s=round(offset + s.start_s, 3), end_s=round(offset + s.end_s, 3),
                                text=s.text.strip(), confidence=s.confidence)


def transcript(captions: list[Caption], end_s: float) -> pb.Transcript:
    segments = [_segment(s, c.start_s) for c in captions for s in c.transcription.segments if s.text.strip()]
    language = captions[0].transcription.language if captions else ""
    return pb.Transcript(language=language, segments=segments, text=" ".join(s.text for s in segments),
                         window_start_s=0.0, window_end_s=round(end_s, 3))


def caption(c: Caption) -> pb.Transcript:
    t = c.transcription
    segments = [_segment(s, c.start_s) for s in t.segments if s.text.strip()]
    end = max((s.end_s for s in segments), default=c.start_s)
    return pb.Transcript(language=t.language, segments=segments, text=t.text, window_start_s=round(c.start_s, 3),
                         window_end_s=end)
