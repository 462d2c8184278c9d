"""What a photo's file structure costs to decode, read before any decoder sees it.

A progressive JPEG's decoder walks every block of the image once per scan, and Pillow reads every PNG chunk (in
Python) while it opens the file. A camera writes one to ten scans and a few dozen segments per JPEG, and PNG chunks
of several kilobytes; a crafted file repeats tiny scans or empty chunks by the hundred thousand, which costs minutes
of CPU per photo. `structure_problem` counts them from the bytes (a few milliseconds, stopping at the limit) and says
why a file is far beyond what cameras write.
"""

from __future__ import annotations

import re
import struct

MAX_JPEG_SCANS = 32
"""libjpeg writes 10 scans for a progressive colour photo (6 for gray), a baseline JPEG 1 to 3."""
MAX_JPEG_SEGMENTS = 1000
"""Marker segments (APPn, DQT, DHT, SOF, SOS...): a camera's JPEG has a few dozen."""
PNG_CHUNK_BYTES = 1024
"""A PNG may hold `MAX_PNG_BASE_CHUNKS` chunks plus one for every this many bytes of the file."""
MAX_PNG_BASE_CHUNKS = 4096
JPEG_SIGNATURE = b"\xff\xd8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SOS, EOI = 0xDA, 0xD9
STANDALONE = {0x01, *range(0xD0, 0xD8)}
"""Markers without a length: TEM and the restart markers."""
NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
"""In entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte), a restart marker or fill; anything else ends
the scan."""


def _jpeg_problem(data: bytes) -> str | None:
    scans = segments = 0
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:  # junk between segments: libjpeg skips to the next 0xFF, and so does the count
            pos = data.find(b"\xff", pos)
            if pos < 0:
                return None
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1  # fill byte before a marker
            continue
        if marker == EOI:
            return None
        if marker in STANDALONE:
            pos += 2
            continue
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            return f"more than {MAX_JPEG_SEGMENTS} JPEG segments, far beyond what a camera writes"
        pos += 2 + max(
            2, struct.unpack_from(">H", data, pos + 2)[0]
        )  # a length under 2 skips only itself, as in libjpeg
        if marker == SOS:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                return f"a JPEG of more than {MAX_JPEG_SCANS} scans, far beyond what a camera writes"
            found = NEXT_MARKER.search(data, pos)
            if found is None:
                return None
            pos = found.start()
    return None


def _png_problem(data: bytes) -> str | None:
    limit = MAX_PNG_BASE_CHUNKS + len(data) // PNG_CHUNK_BYTES
    chunks = 0
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks += 1
        if chunks > limit:
            return f"a PNG of more than {limit} chunks, far beyond what a camera or editor writes"
        if kind == b"IEND":
            return None
        pos += 12 + length
    return None


def structure_problem(data: bytes) -> str | None:
    """Why a JPEG or PNG file's structure would cost far more to decode than any photo's (too many scans, segments or
    chunks), or None; other formats, and damage the decoder will report itself, give None."""
    if data.startswith(JPEG_SIGNATURE):
        return _jpeg_problem(data)
    if data.startswith(PNG_SIGNATURE):
        return _png_problem(data)
    return None
