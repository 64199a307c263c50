"""Text sentiment: VADER's lexicon and rules (vaderSentiment 3.3.2, lexicon inside the wheel)."""

from __future__ import annotations

MODEL_VERSION = "vaderSentiment 3.3.2"
# VADER's documented thresholds on its compound score.
_POSITIVE, _NEGATIVE = 0.05, -0.05


class VaderSentiment:
    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def polarity(self, texts: list[str]) -> list[tuple[str, float]]:
        """Per text: (positive | neutral | negative, strength in [0, 1])."""
        out = []
        for text in texts:
            compound = float(self._analyzer.polarity_scores(text)["compound"])
            if compound >= _POSITIVE:
                out.append(("positive", compound))
            elif compound <= _NEGATIVE:
                out.append(("negative", -compound))
            else:
                out.append(("neutral", 1.0 - abs(compound) / _POSITIVE * 0.5))
        return out
