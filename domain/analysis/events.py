"""Facts about analyses, published through the outbox like every other event."""

from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from domain.shared.events import DomainEvent


@frozen(kw_only=True)
class AnalysisEvent(DomainEvent):
    analysis_id: str
    kind: str
    requested_by: str
    meeting_id: str | None = None


@frozen(kw_only=True)
class AnalysisCompleted(AnalysisEvent):
    name: ClassVar[str] = "analysis.completed"
    model: str
    model_version: str
    confidence: float | None = None


@frozen(kw_only=True)
class AnalysisFailed(AnalysisEvent):
    name: ClassVar[str] = "analysis.failed"
    error_code: str
