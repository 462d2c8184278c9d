"""What the fuzz tests (and `benchmarks/fuzz.py`) feed and check: mutated real files and their only allowed outcomes.

Image decoding: any bytes give an 8-bit RGB image or `BadImageError`. Archive parsing: any `meta.xml`
text and any archive bytes give a parsed archive or `ArchiveError`. Anything else is a bug.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from badinputs import LANDSCAPE, PORTRAIT, animated_gif
from hypothesis import strategies as st
from locations import DWCA_SAMPLES, FIXTURE_GBIF
from PIL import Image

from champy.data.dwca import Archive, ArchiveError, parse_meta
from champy.errors import BadImageError
from champy.images import load_image

XML_PIECES = (
    "<",
    ">",
    "/>",
    '"',
    "=",
    "&",
    "&amp;",
    'index="',
    'index="-1"',
    'index="99999999999"',
    "<field ",
    "<core ",
    "</core>",
    "<files>",
    "<location>",
    'ignoreHeaderLines="',
    'fieldsTerminatedBy="',
    "\\t",
    "\x00",
)
SMALL_SIDE = 96  # small seeds keep each decode fast, so many mutations fit in a short run


def _seed_images() -> dict[str, bytes]:
    photo = Image.open(PORTRAIT).convert("RGB")
    photo.thumbnail((SMALL_SIDE, SMALL_SIDE))
    other = Image.open(LANDSCAPE).convert("RGB")
    other.thumbnail((SMALL_SIDE, SMALL_SIDE))
    seeds = {}
    for fmt in ("JPEG", "PNG"):
        buffer = io.BytesIO()
        photo.save(buffer, format=fmt)
        seeds[fmt] = buffer.getvalue()
    seeds["GIF"] = animated_gif(photo, other)
    return seeds


SEED_IMAGES = _seed_images()
# Real archives (python-dwca-reader samples): a core with an extension, and a core alone.
SEED_ARCHIVES = {
    path.name: path.read_bytes()
    for path in (
        DWCA_SAMPLES / "dwca-star-test-archive.zip",
        DWCA_SAMPLES / "dwca-simple-test-archive.zip",
    )
}
SEED_METAS = {name: zipfile.ZipFile(io.BytesIO(data)).read("meta.xml") for name, data in SEED_ARCHIVES.items()}
SEED_METAS["gbif-amblyomma"] = (FIXTURE_GBIF / "gbif_download_meta.xml").read_bytes()


@st.composite
def mutated(draw, seed: bytes | str, max_edits: int = 8):
    """`seed` with a few random edits: overwrite, insert or delete a run, or cut the end off."""
    data = bytearray(seed.encode("utf-8") if isinstance(seed, str) else seed)
    alphabet = (
        st.binary(min_size=1, max_size=8)
        if isinstance(seed, bytes)
        else st.one_of(st.text(min_size=1, max_size=8), st.sampled_from(XML_PIECES)).map(str.encode)
    )
    for _ in range(draw(st.integers(1, max_edits))):
        position = draw(st.integers(0, max(0, len(data) - 1)))
        kind = draw(st.sampled_from(("overwrite", "insert", "delete", "cut")))
        if kind == "cut":
            del data[position:]
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        else:
            chunk = draw(alphabet)
            data[position : position + (len(chunk) if kind == "overwrite" else 0)] = chunk
    return bytes(data)


def mutated_images():
    """A real JPEG, PNG or (animated) GIF with random edits."""
    return st.sampled_from(sorted(SEED_IMAGES)).flatmap(lambda fmt: mutated(SEED_IMAGES[fmt]))


def check_image_decoding(data: bytes) -> None:
    """Decoding gives an RGB image with pixels, or `BadImageError`."""
    try:
        image = load_image(data, name="fuzzed")
    except BadImageError as exc:
        message = str(exc)
    else:
        assert image.mode == "RGB" and image.width >= 1 and image.height >= 1
        return
    assert message.startswith("fuzzed: ") and "\n" not in message


def mutated_metas():
    """A real `meta.xml` with random edits (text edits, so the XML stays mostly well-formed)."""
    return st.sampled_from(sorted(SEED_METAS)).flatmap(lambda name: mutated(SEED_METAS[name].decode("utf-8")))


def mutated_archives():
    """A real Darwin Core Archive zip with random byte edits."""
    return st.sampled_from(sorted(SEED_ARCHIVES)).flatmap(lambda name: mutated(SEED_ARCHIVES[name]))


def check_meta_parsing(data: bytes) -> None:
    """`parse_meta` gives a spec with a core data file, or `ArchiveError`."""
    try:
        spec = parse_meta(data)
    except ArchiveError:
        return
    assert spec.core.locations and all(isinstance(location, str) for location in spec.core.locations)


def check_archive_opening(data: bytes) -> None:
    """Opening archive bytes and extracting its core file gives the file, or `ArchiveError`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.zip"
        path.write_bytes(data)
        try:
            with Archive(path) as archive:
                extracted = archive.local_file(archive.spec.core.locations[0], Path(folder) / "work")
        except ArchiveError:
            return
        assert extracted.is_file() and extracted.parent == Path(folder) / "work"
