"""Frame enhancement with OpenCV (opencv-contrib-python-headless 4.11: later wheels need numpy 2)."""

from __future__ import annotations

import numpy as np

OPERATIONS = ("low_light", "denoise", "upscale2x", "sharpen")
MODEL_VERSION = "opencv 4.11 pipeline v1"


class FrameEnhancer:
    def __init__(self) -> None:
        import cv2

        cv2.setNumThreads(1)  # the engine's pool gives parallelism; OpenCV's own threads would oversubscribe
        self._cv2 = cv2
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def enhance(self, rgb: np.ndarray, operations: list[str]) -> np.ndarray:
        """``rgb``: (h, w, 3) uint8; operations applied in the canonical order of OPERATIONS."""
        cv2 = self._cv2
        img = rgb
        if "low_light" in operations:
            lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)
            light = lab[..., 0]
            mean = float(light.mean()) / 255.0
            # Gamma chosen so the mean lightness moves toward 0.45; bright frames are left alone.
            gamma = np.log(0.45) / np.log(min(max(mean, 0.02), 0.98)) if mean < 0.45 else 1.0
            lut = np.clip(((np.arange(256) / 255.0) ** gamma) * 255.0, 0, 255).astype(np.uint8)
            lab[..., 0] = self._clahe.apply(cv2.LUT(light, lut))
            img = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        if "denoise" in operations:
            img = cv2.GaussianBlur(cv2.medianBlur(img, 3), (3, 3), 0)
        if "upscale2x" in operations:
            img = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
        if "sharpen" in operations:
            blurred = cv2.GaussianBlur(img, (0, 0), 1.5)
            img = cv2.addWeighted(img, 1.6, blurred, -0.6, 0)
        return np.ascontiguousarray(img)
