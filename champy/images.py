"""Turn any photo a person may upload into the RGB pixels a model expects, or a clear error.

One code path serves training and inference, so a photo is resized exactly the same way in both:
decode (JPEG, PNG, WebP, GIF's first frame, TIFF, BMP, HEIC/HEIF), apply the EXIF orientation,
flatten transparency onto white, convert any mode (CMYK, 16-bit, palette, grayscale) to 8-bit RGB,
then resize to the model's square input with Pillow's antialiased bilinear filter.

Memory per photo does not grow with its pixel count beyond the decoded image itself: a JPEG is
decoded reduced (draft mode), anything else is decoded once and then reduced and converted to RGB
in bands of a few megapixels, 8-bit all the way (no full-size float or RGBA copy). Decodes in flight hold at most
`DECODE_BUDGET_BYTES` together (`DECODE_SLOTS`, by each decode's estimated bytes), so that a burst of large photos
cannot add up; a JPEG or PNG whose structure would cost far more CPU than any photo's (`champy.decode_budget`) is
refused before any decoder sees it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from champy.decode_budget import structure_problem
from champy.errors import BadImageError
from champy.fair_slots import FairSlots
from champy.path_kind import file_problem

register_heif_opener()

MAX_PIXELS = 120_000_000  # a 108 MP phone photo passes; a 20000 x 20000 bomb does not
# Decoders that cannot reduce and hold their own full-size copy besides Pillow's (4 bytes a pixel) get
# proportionally fewer pixels, so that no photo costs more to decode than a MAX_PIXELS one (measured: ~15.5
# bytes a pixel for WebP, ~7 for HEIF).
DECODE_BYTES_PER_PIXEL = {"WEBP": 16, "HEIF": 8, "AVIF": 8}
MAX_BYTES = 60 * 1024 * 1024
MAX_PHOTOS = 8  # photos of one specimen identified together
MAX_REQUEST_PIXELS = 400_000_000  # all the photos of one specimen together, in source pixels
DISPLAY_SIZE = 1024  # longest side of a photo or Grad-CAM overlay kept for showing
DECODE_BUDGET_BYTES = 2**30  # two of the costliest decodes (a 119-MP PNG, a 30-MP WebP) at a time
DECODE_SLOTS = FairSlots(DECODE_BUDGET_BYTES)
LARGE_DECODE_BYTES = 96 * 2**20  # after a decode this large, freed memory goes back to the system
BAND_PIXELS = 4_000_000  # source pixels converted at once
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I", "F")
ORIENTATION_TAG = 0x0112
EXIF_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
RESIZE_METHOD = "squash to a square with Pillow's bilinear filter (antialiased), no crop"

ImageSource = str | Path | bytes | BinaryIO


def _read_bytes(source: ImageSource, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        problem = file_problem(path)
        if problem:
            raise BadImageError(f"{name}: {problem}")
        if path.stat().st_size > MAX_BYTES:
            raise BadImageError(f"{name}: file is larger than {MAX_BYTES // 2**20} MB")
        data = path.read_bytes()
    else:
        data = source.read(MAX_BYTES + 1)
    if not data:
        raise BadImageError(f"{name}: the file is empty (0 bytes)")
    if len(data) > MAX_BYTES:
        raise BadImageError(f"{name}: file is larger than {MAX_BYTES // 2**20} MB")
    check_structure(data, name)
    return data


def check_structure(data: bytes, name: str) -> None:
    """Raise BadImageError when a photo's file structure would cost far more to decode than a camera's photo."""
    problem = structure_problem(data)
    if problem:
        raise BadImageError(f"{name}: refused without decoding: {problem}")


def _to_rgb(image: Image.Image, top: float) -> Image.Image:
    """8-bit RGB of any mode: 16-bit and float scaled by `top` (the whole image's maximum), alpha on white."""
    if image.mode in SIXTEEN_BIT_MODES:
        pixels = np.asarray(image, dtype=np.float64)
        image = Image.fromarray((pixels / top * 255.0).clip(0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _reduced_rgb(image: Image.Image, factor: int) -> Image.Image:
    """8-bit RGB of a decoded image shrunk by an integer `factor` (box average), converted band by band."""
    width, height = image.size
    top = 1.0
    if image.mode in SIXTEEN_BIT_MODES:
        top = float(image.getextrema()[1]) or 1.0
    rows = factor * max(1, BAND_PIXELS // (width * factor))
    result = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for y in range(0, height, rows):
        band = _to_rgb(image.crop((0, y, width, min(y + rows, height))), top)
        result.paste(band.reduce(factor) if factor > 1 else band, (0, y // factor))
    return result


def _release_freed_memory() -> None:
    """Hand memory freed after a large decode back to the system (glibc keeps it in its heap otherwise)."""
    if LIBC is not None:
        LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        library = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return library if library is not None and hasattr(library, "malloc_trim") else None


LIBC = _libc()


def pixel_limit(image_format: str | None) -> int:
    """The most pixels a photo in `image_format` may have: `MAX_PIXELS`, fewer for the costlier decoders."""
    return MAX_PIXELS * 4 // DECODE_BYTES_PER_PIXEL.get(image_format or "", 4)


def check_photo_count(count: int) -> None:
    """Raise BadImageError when one specimen comes with more than `MAX_PHOTOS` photos."""
    if count > MAX_PHOTOS:
        raise BadImageError(f"{count} photos chosen: at most {MAX_PHOTOS} photos of one mushroom at a time")


def _header(data: bytes) -> Image.Image | None:
    """The photo in `data` opened (its header read, nothing decoded), or None when its header cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None


def header_pixels(data: bytes) -> int:
    """The pixel count a photo's header announces (0 when it has none: decoding it gives the reason)."""
    image = _header(data)
    return image.width * image.height if image is not None else 0


def check_request(photos: list[tuple[str, bytes]]) -> None:
    """Raise BadImageError when (name, bytes) photos of one specimen exceed `MAX_PHOTOS` or `MAX_REQUEST_PIXELS`, or
    one's structure is beyond the decode budget (`check_structure`)."""
    check_photo_count(len(photos))
    for name, data in photos:
        check_structure(data, name)
    total = sum(header_pixels(data) for _, data in photos)
    if total > MAX_REQUEST_PIXELS:
        raise BadImageError(
            f"these {len(photos)} photos hold {total / 1e6:.0f} megapixels together, more than "
            f"{MAX_REQUEST_PIXELS / 1e6:.0f}: choose fewer or smaller photos"
        )


def fit_within(image: Image.Image, max_side: int = DISPLAY_SIZE) -> Image.Image:
    """`image` shrunk (aspect kept, antialiased) so its longest side is at most `max_side`; never enlarged."""
    if max(image.size) <= max_side:
        return image
    shown = image.copy()
    shown.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return shown


def load_image(source: ImageSource, name: str | None = None, draft_size: int | None = None) -> Image.Image:
    """Decode `source` (path, bytes or file object) into an upright 8-bit RGB Pillow image.

    With `draft_size`, the photo is reduced to about the smallest size whose both sides stay at least
    `draft_size`, what a later resize to that size or below needs: a JPEG while it is decoded (draft mode),
    any other format right after, by an integer box reduction. Raises `BadImageError` with a one-line reason for
    anything that is not a usable photo.
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
            limit = pixel_limit(image.format)
            if width * height > limit:
                raise BadImageError(
                    f"{name}: image is too large ({width} x {height} pixels; at most "
                    f"{limit / 1e6:.0f} megapixels in {image.format} format)"
                )
            if width < 1 or height < 1:
                raise BadImageError(f"{name}: image has no pixels")
            cost = decode_bytes(image, draft_size)
            with DECODE_SLOTS.hold(cost):
                image = _decode(image, draft_size)
            if cost > LARGE_DECODE_BYTES:
                _release_freed_memory()
            return image
    except BadImageError:
        raise
    except UnidentifiedImageError:
        raise BadImageError(f"{name}: not an image (or an unsupported format)") from None
    except Image.DecompressionBombError:
        raise BadImageError(f"{name}: image is too large (decompression bomb protection)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise BadImageError(f"{name}: corrupt or truncated image ({exc})") from None


def reduction(image: Image.Image, draft_size: int | None) -> int:
    """How much `load_image` shrinks the opened `image` while decoding it for `draft_size`: a JPEG's draft scale (1,
    2, 4 or 8), any other format's integer box reduction (1 without `draft_size`)."""
    if not draft_size:
        return 1
    fits = min(image.width // draft_size, image.height // draft_size)
    if image.format == "JPEG":
        return max((scale for scale in (1, 2, 4, 8) if scale <= fits), default=1)
    return max(1, fits)


def photo_reduction(data: bytes, draft_size: int) -> int:
    """`reduction` of the photo in `data` (0 when its header cannot be read: decoding it gives the reason). Two
    draft sizes of one reduction decode a photo to the same image."""
    image = _header(data)
    return reduction(image, draft_size) if image is not None else 0


def decode_bytes(image: Image.Image, draft_size: int | None) -> int:
    """About the memory decoding the opened `image` takes: its decoded pixels (at the draft scale for a JPEG, with a
    decoder's own copy for WebP and HEIF, `DECODE_BYTES_PER_PIXEL`), plus a progressive JPEG's coefficients."""
    pixels = image.width * image.height
    scale = reduction(image, draft_size) if image.format == "JPEG" else 1  # the others decode at full size first
    cost = pixels // (scale * scale) * DECODE_BYTES_PER_PIXEL.get(image.format or "", 4)
    return cost + (pixels * 3 if image.format == "JPEG" and image.info.get("progressive") else 0)


def _decode(image: Image.Image, draft_size: int | None) -> Image.Image:
    """The opened `image` decoded, reduced for `draft_size`, converted to RGB and turned upright."""
    image.seek(0)
    if draft_size and image.format == "JPEG":
        image.draft("RGB", (draft_size, draft_size))
        factor = 1
    else:
        factor = reduction(image, draft_size)
    image.load()
    orientation = image.getexif().get(ORIENTATION_TAG)
    rgb = _reduced_rgb(image, factor)
    return rgb.transpose(EXIF_TRANSPOSE[orientation]) if orientation in EXIF_TRANSPOSE else rgb


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Resize an RGB image to `size` x `size` (see RESIZE_METHOD) as float32 pixels 0..255."""
    resized = image.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def load_model_input(source: ImageSource, size: int, name: str | None = None) -> np.ndarray:
    """`load_image` then `to_model_input`: the pixels a model of input `size` is fed."""
    return to_model_input(load_image(source, name=name, draft_size=2 * size), size)
