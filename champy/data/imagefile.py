"""Verify downloaded bytes as a photo and store it as an RGB JPEG of bounded size, atomically."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from champy.atomic import write_bytes
from champy.images import load_image

JPEG_QUALITY = 90


def save_photo(data: bytes, target: Path, max_side: int = 512, quality: int = JPEG_QUALITY) -> tuple[int, int]:
    """Decode `data` fully (raises `BadImageError` if it is not a whole image), convert to upright RGB,
    shrink so the longest side is at most `max_side` (never enlarge), save as JPEG; returns (width, height)."""
    image = load_image(data, name="image", draft_size=max_side)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    # Encoded in memory, then written by Python: Pillow's direct file writes can miss a short write
    # on a full disk and leave a truncated JPEG behind.
    encoded = io.BytesIO()
    image.save(encoded, format="JPEG", quality=quality, optimize=True)
    write_bytes(target, encoded.getvalue())
    return image.size
