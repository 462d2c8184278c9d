"""Photo degradations for training views: what differs between collections, not between species.

The curated collections differ in resolution (75 px thumbnails, ~190 px scraped photos, 512 px field photos),
compression and sharpness, and each class comes mostly from one of them. Randomising those properties in the
augmented views leaves a network no collection cue to lean on.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

SIDES = (64, 256)
"""Range of the effective shorter side a degraded view is resampled to and back."""
JPEG_QUALITY = (30, 95)
BLUR_RADIUS = (0.3, 1.5)


def degrade(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One square uint8 RGB image with a random effective resolution, JPEG quality and blur (each applied or not)."""
    photo = Image.fromarray(image)
    size = photo.size
    if rng.random() < 0.7:
        side = int(rng.integers(SIDES[0], SIDES[1] + 1))
        if side < size[0]:
            photo = photo.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            photo = photo.resize(size, Image.Resampling.BILINEAR)
    if rng.random() < 0.3:
        photo = photo.filter(ImageFilter.GaussianBlur(float(rng.uniform(*BLUR_RADIUS))))
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
        photo = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.asarray(photo, np.uint8)


def degrade_batch(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`degrade` applied to each image of a (N, size, size, 3) uint8 batch."""
    return np.stack([degrade(image, rng) for image in images]) if len(images) else images
