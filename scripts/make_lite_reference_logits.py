"""Save PyTorch's EfficientNet-Lite0 logits for a dozen photos in the repository, so that the tests can check the
shipped Keras weights against the original without PyTorch.

The photos: every 37th sample photo (8 of `data/sample_photos/`) and the first 4 of `tests/fixtures/not_fungi/`.
Needs `pip install -r requirements-convert.txt`. Usage: python scripts/make_lite0_reference_logits.py
"""

from __future__ import annotations

import numpy as np

from champy.atomic import atomic_path
from champy.images import load_model_input
from champy.models.convert_lite import packaged_state_path
from champy.models.lite_reference import torch_lite0, torch_logits
from champy.paths import DATA_DIR, PROJECT_ROOT

TARGET = PROJECT_ROOT / "tests" / "fixtures" / "lite0_reference_logits.npz"
NOT_FUNGI = PROJECT_ROOT / "tests" / "fixtures" / "not_fungi"


def reference_photos() -> list:
    """The 12 photos, as paths relative to the project root."""
    mushrooms = sorted((DATA_DIR / "sample_photos").glob("*/*.jpg"))[::37][:8]
    return [path.relative_to(PROJECT_ROOT) for path in mushrooms + sorted(NOT_FUNGI.glob("*.jpg"))[:4]]


def main() -> None:
    photos = reference_photos()
    pixels = np.stack([load_model_input(PROJECT_ROOT / path, 224) for path in photos])
    logits = torch_logits(torch_lite0(packaged_state_path()), pixels)
    with atomic_path(TARGET) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, photos=np.array([path.as_posix() for path in photos]), logits=logits)
    print(f"{len(photos)} photos' logits written to {TARGET.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
