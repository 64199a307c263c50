"""Transcript-based emotion tagging: zero-shot by similarity to written prototype sentences.

This tags what the words say, not how the voice sounds.  Accuracy was measured only on a small
self-written set (README): treat the tags as hints.
"""

from __future__ import annotations

import numpy as np

from adapters.inference.minilm import MiniLmEncoder

LABELS = ("joy", "anger", "sadness", "fear", "surprise", "neutral")
# Two hand-written sentences per label; the label's score is its best prototype's similarity.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "joy": ("I am so happy and delighted, this is wonderful news.", "That was great fun, I love it."),
    "anger": ("I am furious, this is completely unacceptable.", "Stop it, you make me so angry."),
    "sadness": ("I feel sad and lonely, I miss them so much.", "This is heartbreaking and depressing."),
    "fear": ("I am scared and worried something terrible will happen.", "I am afraid, this is frightening."),
    "surprise": ("Wow, I did not expect that at all, what a surprise!", "Really? That is astonishing."),
    "neutral": ("The meeting starts at ten and covers the quarterly report.", "Please send me the document."),
}
# Cosine similarities sit in a narrow band; a low softmax temperature spreads them into usable scores.
_TEMPERATURE = 0.05


class PrototypeEmotionTagger:
    def __init__(self, encoder: MiniLmEncoder | None = None) -> None:
        self._encoder = encoder or MiniLmEncoder()
        sentences = [s for label in LABELS for s in PROTOTYPES[label]]
        self._owner = np.array([LABELS.index(label) for label in LABELS for _ in PROTOTYPES[label]])
        self._prototypes = self._encoder.encode(sentences)

    def tag(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        """Per text: (label, score) over LABELS, scores summing to 1, best first."""
        if not texts:
            return []
        sims = self._encoder.encode(texts) @ self._prototypes.T
        best = np.full((len(texts), len(LABELS)), -1.0, np.float32)
        for j, owner in enumerate(self._owner):
            best[:, owner] = np.maximum(best[:, owner], sims[:, j])
        logits = best / _TEMPERATURE
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        return [sorted(((LABELS[k], float(row[k])) for k in range(len(LABELS))), key=lambda p: -p[1])
                for row in probs]
