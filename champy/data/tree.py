"""The dataset tree: `Fungi/<phylum>/<class>/<order>/<family>/<genus>/<species>/<gbifID>_<n>.jpg`.

Every part of a path is sanitised, so no taxon name (`../../etc`, slashes, NUL, odd unicode)
can write outside the dataset folder or create a name the file system rejects.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

RANKS = ("phylum", "class", "order", "family", "genus", "species")
UNKNOWN = "unknown"
MAX_PART_BYTES = 120
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def sanitise_part(name: object) -> str:
    """One safe path component for `name`: no separators or control characters, never `.`/`..`/empty."""
    text = unicodedata.normalize("NFC", "" if name is None else str(name))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _FORBIDDEN.sub("_", text)
    text = re.sub(r"\s+", "_", text).strip("._ ")
    while len(text.encode("utf-8")) > MAX_PART_BYTES:
        text = text[:-1]
    if not text:
        return UNKNOWN
    return f"_{text}" if text.split(".")[0].lower() in _WINDOWS_RESERVED else text


def image_relpath(row: Mapping[str, object]) -> str:
    """The image's path relative to the dataset folder, with forward slashes."""
    parts = ["Fungi", *(sanitise_part(row.get(rank)) for rank in RANKS)]
    return "/".join(parts) + f"/{sanitise_part(row['gbifID'])}_{int(row['n'])}.jpg"
