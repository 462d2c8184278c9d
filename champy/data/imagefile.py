"""Verify downloaded bytes as a photo and store it as an RGB JPEG of bounded size, atomically."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from champy.atomic import atomic_path
from champy.images import load_image

JPEG_QUALITY = 90


def save_photo(data: bytes, target: Path, max_side: int = 512, quality: int = JPEG_QUALITY) -> tuple[int, int]:
    """Decode `data` fully (raises `BadImageError` if it is not a whole image), convert to upright RGB,
    shrink so the longest side is at most `max_side` (never enlarge), save as JPEG; returns (width, height)."""
    image = load_image(data, name="image", draft_size=max_side)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    with atomic_path(target) as tmp:
        image.save(tmp, format="JPEG", quality=quality, optimize=True)
    return image.size
