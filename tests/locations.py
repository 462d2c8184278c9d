"""Where test data lives: small fixtures in the repository, and the shared data folder that some tests need.

The shared folder is `../shared` beside the project, or wherever `CHAMPY_SHARED_DIR` points (`champy.paths`).
A test that needs it is marked with `needs_shared(...)` and skips, with a one-line reason, on a clone without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from champy.paths import PROJECT_ROOT, SHARED_DIR

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_PHOTOS = PROJECT_ROOT / "data" / "sample_photos"
FIXTURE_GBIF = FIXTURES / "gbif"
DWCA_SAMPLES = FIXTURES / "dwca_reader_samples"
FIXTURE_NOT_FUNGI = FIXTURES / "not_fungi"

SHARED_PHOTOS = SHARED_DIR / "data" / "photos"
SHARED_NOT_FUNGI = SHARED_DIR / "data" / "not_fungi"
SHARED_GBIF = SHARED_DIR / "data" / "gbif"

# Two sample photos of different sizes and orientations (Mushroom Observer, CC BY-SA 3.0).
PORTRAIT_PHOTO = SAMPLE_PHOTOS / "Agaricus_arvensis" / "mto_mo1713410.jpg"
LANDSCAPE_PHOTO = SAMPLE_PHOTOS / "Agaricus_arvensis" / "mto_mo1629600.jpg"
# Two sample photos of one cep that both shipped models name Boletus edulis (an edible with a toxic look-alike).
BOLETUS_PHOTO = SAMPLE_PHOTOS / "Boletus_edulis" / "mto_mo1725981.jpg"
BOLETUS_SECOND_VIEW = SAMPLE_PHOTOS / "Boletus_edulis" / "mto_mo1718535.jpg"


def shared_missing(path: Path) -> str:
    """The one-line skip reason for a test that needs `path` inside the shared folder."""
    return f"needs {path} (the shared data folder: put it at ../shared beside the project or set CHAMPY_SHARED_DIR)"


def needs_shared(path: Path) -> pytest.MarkDecorator:
    """Skip the test (or module, as `pytestmark`) when `path` in the shared folder is absent."""
    return pytest.mark.skipif(not path.exists(), reason=shared_missing(path))


def sample_photos() -> list[Path]:
    """Every sample photo shipped in the repository, in a stable order."""
    return sorted(SAMPLE_PHOTOS.glob("*/*.jpg"))
