"""Turn any photo a person may upload into the RGB pixels a model expects, or a clear error.

One code path serves training and inference, so a photo is resized exactly the same way in both:
decode (JPEG, PNG, WebP, GIF's first frame, TIFF, BMP, HEIC/HEIF), apply the EXIF orientation,
flatten transparency onto white, convert any mode (CMYK, 16-bit, palette, grayscale) to 8-bit RGB,
then resize to the model's square input with Pillow's antialiased bilinear filter.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from champy.errors import BadImageError

register_heif_opener()

MAX_PIXELS = 120_000_000  # a 108 MP phone photo passes; a 20000 x 20000 bomb does not
MAX_BYTES = 60 * 1024 * 1024
RESIZE_METHOD = "squash to a square with Pillow's bilinear filter (antialiased), no crop"

ImageSource = Union[str, Path, bytes, BinaryIO]


def _read_bytes(source: ImageSource, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise BadImageError(f"{name}: file not found")
        if path.stat().st_size > MAX_BYTES:
            raise BadImageError(f"{name}: file is larger than {MAX_BYTES // 2**20} MB")
        data = path.read_bytes()
    else:
        data = source.read(MAX_BYTES + 1)
    if not data:
        raise BadImageError(f"{name}: the file is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise BadImageError(f"{name}: file is larger than {MAX_BYTES // 2**20} MB")
    return data


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        top = pixels.max() if pixels.size and pixels.max() > 0 else 1.0
        image = Image.fromarray((pixels / top * 255.0).clip(0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def load_image(source: ImageSource, name: str | None = None, draft_size: int | None = None) -> Image.Image:
    """Decode `source` (path, bytes or file object) into an upright 8-bit RGB Pillow image.

    `draft_size` lets JPEG decoding skip detail that a later resize to that size would drop.
    Raises `BadImageError` with a one-line reason for anything that is not a usable photo.
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else "image")
    data = _read_bytes(source, name)
    try:
        with warnings.catch_warnings():
            # MAX_PIXELS is the bound; Pillow's own warning (~89 MP) would refuse real 108 MP photos.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise BadImageError(f"{name}: image is too large ({width} x {height} pixels)")
            if width < 1 or height < 1:
                raise BadImageError(f"{name}: image has no pixels")
            image.seek(0)
            if draft_size and image.format == "JPEG":
                image.draft("RGB", (draft_size, draft_size))
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb(image)
    except BadImageError:
        raise
    except UnidentifiedImageError:
        raise BadImageError(f"{name}: not an image (or an unsupported format)") from None
    except Image.DecompressionBombError:
        raise BadImageError(f"{name}: image is too large (decompression bomb protection)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadImageError(f"{name}: corrupt or truncated image ({exc})") from None


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Resize an RGB image to `size` x `size` (see RESIZE_METHOD) as float32 pixels 0..255."""
    resized = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def load_model_input(source: ImageSource, size: int, name: str | None = None) -> np.ndarray:
    """`load_image` then `to_model_input`: the pixels a model of input `size` is fed."""
    return to_model_input(load_image(source, name=name, draft_size=2 * size), size)
