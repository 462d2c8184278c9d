"""Photos crafted to cost far more to decode than what a camera writes, made on demand (no binary in the repository).

- `scan_bomb_jpeg`: a progressive JPEG whose last AC scan is repeated thousands of times (every repetition walks
  every block of the image again);
- `chunk_stuffed_png`: a PNG with a million or more empty ancillary chunks before its pixels (Pillow reads every
  one while opening it).

    python tests/crafted_photos.py OUT_DIR     # writes both, for a manual or benchmark run
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

from locations import BOLETUS_PHOTO
from PIL import Image

SOS = b"\xff\xda"
EOI = b"\xff\xd9"


def scan_bomb_jpeg(scans: int = 20_000, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A progressive JPEG of `size` (one flat colour, so its scans are a few bytes each) whose last scan is repeated
    until the file holds `scans` scans: the decoder warns of a bogus progression and goes on, walking every block of
    the image once per scan (about 7 ms a scan at 12 MP: 20,000 scans, 0.6 MB, cost over two minutes of CPU)."""
    encoded = io.BytesIO()
    Image.new("RGB", size, (120, 90, 60)).save(encoded, format="JPEG", quality=85, progressive=True)
    jpeg = encoded.getvalue()
    last, end = jpeg.rindex(SOS), jpeg.rindex(EOI)
    return jpeg[:end] + jpeg[last:end] * max(0, scans - jpeg.count(SOS)) + EOI


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def chunk_stuffed_png(chunks: int = 1_500_000, size: tuple[int, int] = (640, 480)) -> bytes:
    """A real photo as a PNG of `size` with `chunks` empty private ancillary chunks between its header and pixels."""
    photo = Image.open(BOLETUS_PHOTO).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    encoded = io.BytesIO()
    photo.save(encoded, format="PNG")
    png = encoded.getvalue()
    header_end = 8 + 25  # signature, then IHDR (length, type, 13 bytes, CRC)
    return png[:header_end] + _png_chunk(b"zzZz", b"") * chunks + png[header_end:]


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scan_bomb.jpg").write_bytes(scan_bomb_jpeg())
    (out / "chunk_stuffed.png").write_bytes(chunk_stuffed_png())


if __name__ == "__main__":
    main(sys.argv[1])
