"""Who is speaking: the loudest audible member, with hysteresis so the announcement does not flap."""

from __future__ import annotations

from collections import deque

from domain.shared.ids import UserId


def loudness_from_level(dbov: int) -> float:
    """RFC 6464 audio level (0 = loudest, 127 = silence, in -dBov) -> 0..1; below -90 dBov is 0."""
    return min(1.0, max(0.0, (90 - dbov) / 90))


def loudness_from_size(payload_bytes: int) -> float:
    """No audio-level extension: an Opus frame's size grows with what it carries (silence ~3-10 B)."""
    return min(1.0, max(0.0, (payload_bytes - 12) / 100))


class ActiveSpeakerDetector:
    """Rules:
    - a member's score is its mean loudness over the last ``window`` seconds (0 when it sent nothing);
    - a member is audible when its score is at least ``threshold``;
    - the loudest audible member becomes the active speaker once it has been the loudest for ``hold``
      seconds without interruption; until then (and when nobody is audible) the speaker stays;
    - a member that is forgotten (left) stops being the speaker at once (``decide`` gives None).
    """

    def __init__(self, hold: float = 1.5, window: float = 0.5, threshold: float = 0.3) -> None:
        self.hold, self.window, self.threshold = hold, window, threshold
        self._samples: dict[UserId, deque[tuple[float, float]]] = {}
        self.speaker: UserId | None = None
        self._challenger: UserId | None = None
        self._since = 0.0

    def observe(self, user_id: UserId, loudness: float, now: float) -> None:
        samples = self._samples.setdefault(user_id, deque())
        samples.append((now, loudness))
        while samples and samples[0][0] < now - self.window:
            samples.popleft()

    def forget(self, user_id: UserId) -> None:
        self._samples.pop(user_id, None)
        if self.speaker == user_id:
            self.speaker = None
        if self._challenger == user_id:
            self._challenger = None

    def score(self, user_id: UserId, now: float) -> float:
        recent = [v for t, v in self._samples.get(user_id, ()) if t >= now - self.window]
        return sum(recent) / len(recent) if recent else 0.0

    def decide(self, now: float) -> UserId | None:
        scores = {u: self.score(u, now) for u in self._samples}
        audible = {u: s for u, s in scores.items() if s >= self.threshold}
        loudest = max(audible, key=lambda u: (audible[u], u)) if audible else None
        if loudest is None or loudest == self.speaker:
            self._challenger = None
        elif loudest != self._challenger:
            self._challenger, self._since = loudest, now
        elif now - self._since >= self.hold:
            self.speaker, self._challenger = loudest, None
        return self.speaker
