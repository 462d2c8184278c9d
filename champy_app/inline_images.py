"""Images sent inside a page's HTML as data URIs: small copies, so one markdown block carries its pictures."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image, ImageOps


def image_uri(image: Image.Image | np.ndarray, longest: int, square: bool = False) -> str:
    """`image` (a PIL image or an RGB array) as a JPEG data URI, its longest side at most `longest` pixels;
    centre-cropped to a `longest`-pixel square with `square`."""
    picture = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    picture = picture.convert("RGB")  # a new image: shrinking it in place leaves the caller's untouched
    if square:
        picture = ImageOps.fit(picture, (longest, longest))
    else:
        picture.thumbnail((longest, longest))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
