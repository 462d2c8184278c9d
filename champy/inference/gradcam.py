"""Drawing a Grad-CAM map over the photo it explains, at display size (never larger than `DISPLAY_SIZE`)."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from champy.images import DISPLAY_SIZE, fit_within

HEAT_WEIGHT = 0.45


def overlay(image: Image.Image, cam: np.ndarray, max_side: int = DISPLAY_SIZE) -> np.ndarray:
    """Blend a [0, 1] class-activation map, coloured with OpenCV's JET map, onto an RGB photo.

    The result has the photo's size shrunk to fit `max_side`, so its memory does not grow with the photo's pixels.
    """
    photo = np.asarray(fit_within(image.convert("RGB"), max_side))
    height, width = photo.shape[:2]
    heat = cv2.resize(cam.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    heat = np.uint8(np.clip(heat, 0.0, 1.0) * 255)
    coloured = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(photo, 1.0 - HEAT_WEIGHT, coloured, HEAT_WEIGHT, 0.0)
