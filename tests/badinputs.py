"""The bad-input matrix: hostile, broken and oddly encoded image files made from real photos.

`write_matrix(folder)` writes every case into `folder` and returns them. A case is either `bad`
(it must be refused with a one-line reason containing `reason`) or valid (it must decode to the
RGB photo it holds, `width` x `height`, upright).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from locations import LANDSCAPE_PHOTO as LANDSCAPE  # 384 x 288
from locations import PORTRAIT_PHOTO as PORTRAIT  # 288 x 384
from PIL import Image

EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Case:
    """One file of the matrix."""

    path: Path
    bad: bool
    reason: str = ""
    size: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        return self.path.name


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int, complete: bool) -> bytes:
    """A 1-bit grayscale PNG of `width` x `height` black pixels; `complete=False` stops after one row,
    so a few hundred bytes claim the full size (a decompression bomb made cheaply)."""
    rows = height if complete else 1
    raw = (b"\x00" + bytes((width + 7) // 8)) * rows
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw, 9))
        + _png_chunk(b"IEND", b"")
    )


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _zip_of(photo: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(photo, photo.name)
    return buffer.getvalue()


def _corrupt_png(png: bytes) -> bytes:
    """The PNG with its IHDR chunk's checksum broken."""
    return png[:29] + bytes(b ^ 0xFF for b in png[29:33]) + png[33:]


def exif_rotated_jpeg(photo: Image.Image) -> bytes:
    """`photo` stored sideways with EXIF orientation 6 (a viewer turns it 90 degrees clockwise)."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return _encoded(photo.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


def animated_gif(first: Image.Image, second: Image.Image) -> bytes:
    """Two frames: `first`, then `second` resized to the same size."""
    return _encoded(first, "GIF", save_all=True, append_images=[second.resize(first.size)], duration=200, loop=0)


def _bad_cases(photo: Image.Image, jpeg: bytes) -> dict[str, tuple[bytes, str]]:
    png = _encoded(photo, "PNG")
    return {
        "empty.jpg": (b"", "empty"),
        "truncated.jpg": (jpeg[: len(jpeg) // 3], "truncated"),
        "header_only.jpg": (jpeg[:600], "truncated"),
        "corrupt.jpg": (jpeg[:2] + bytes(range(256)) * 40, "not an image"),
        "truncated.png": (png[: len(png) // 2], "truncated"),
        "corrupt.png": (_corrupt_png(png), "not an image"),
        "notes.jpg": (b"Field notes: cap 8 cm, gills free, ring present.\n", "not an image"),
        "page.jpg": (b"<!doctype html><html><body><img src='x.jpg'></body></html>", "not an image"),
        "document.jpg": (_pdf(), "not an image"),
        "archive.jpg": (_zip_of(PORTRAIT), "not an image"),
        "bomb_claims_20000x20000.png": (png_claiming(20000, 20000, complete=False), "too large"),
        "real_20000x20000.png": (png_claiming(20000, 20000, complete=True), "too large"),
    }


def _valid_cases(photo: Image.Image, other: Image.Image) -> dict[str, tuple[bytes, tuple[int, int]]]:
    gray16 = Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * 257)
    palette = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    with_alpha = photo.copy()
    with_alpha.putalpha(Image.linear_gradient("L").resize(photo.size))
    size = photo.size
    return {
        "one_pixel.jpg": (_encoded(Image.new("RGB", (1, 1), (120, 80, 40)), "JPEG"), (1, 1)),
        "one_pixel.png": (_encoded(Image.new("RGBA", (1, 1), (120, 80, 40, 0)), "PNG"), (1, 1)),
        "cmyk.jpg": (_encoded(photo.convert("CMYK"), "JPEG", quality=95), size),
        "gray16.png": (_encoded(gray16, "PNG"), size),
        "palette_transparent.png": (_encoded(palette, "PNG", transparency=0), size),
        "rgba.png": (_encoded(with_alpha, "PNG"), size),
        "la.png": (_encoded(with_alpha.convert("LA"), "PNG"), size),
        "animated.gif": (animated_gif(photo, other), size),
        "exif_rotated.jpg": (exif_rotated_jpeg(photo), size),
        "photo.heic": (_encoded(photo, "HEIF", quality=90), size),
        "photo.webp": (_encoded(photo, "WEBP", quality=90), size),
        "photo.tiff": (_encoded(photo, "TIFF", compression="tiff_lzw"), size),
        "photo.bmp": (_encoded(photo, "BMP"), size),
        "Amanite tue-mouches ✓ çéö 🍄.jpg": (PORTRAIT.read_bytes(), size),
        "..%2F..%2Fetc%2Fpasswd.jpg": (PORTRAIT.read_bytes(), size),
    }


def write_matrix(folder: Path) -> list[Case]:
    """Write every case of the matrix into `folder`; bad cases first."""
    folder.mkdir(parents=True, exist_ok=True)
    jpeg = PORTRAIT.read_bytes()
    photo = Image.open(PORTRAIT).convert("RGB")
    other = Image.open(LANDSCAPE).convert("RGB")
    cases = []
    for name, (data, reason) in _bad_cases(photo, jpeg).items():
        (folder / name).write_bytes(data)
        cases.append(Case(folder / name, bad=True, reason=reason))
    for name, (data, size) in _valid_cases(photo, other).items():
        (folder / name).write_bytes(data)
        cases.append(Case(folder / name, bad=False, size=size))
    return cases


def large_phone_photo() -> bytes:
    """A real photo enlarged to 12000 x 9000 (108 MP, as a high-end phone takes), as a JPEG."""
    return _encoded(
        Image.open(LANDSCAPE).convert("L").resize((12000, 9000), Image.Resampling.NEAREST), "JPEG", quality=70
    )
