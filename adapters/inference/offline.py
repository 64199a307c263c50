"""Keeps hub-aware libraries (huggingface_hub via faster-whisper and tokenizers) off the network."""

from __future__ import annotations

import os

_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


def force_offline() -> None:
    # Set before the first import of those libraries: they read the variables at import time.
    for name, value in _OFFLINE.items():
        os.environ.setdefault(name, value)
