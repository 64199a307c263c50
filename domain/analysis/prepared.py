"""What the service hands the engine: decoded input, kept in memory only while the analysis runs."""

from __future__ import annotations

from attrs import frozen

from domain.analysis.inference import PcmAudio, VideoFrame


@frozen(kw_only=True)
class PreparedInput:
    audio: PcmAudio | None = None
    frame: VideoFrame | None = None
    texts: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.audio.duration_s if self.audio is not None else 0.0
