"""Save PyTorch's EfficientNet-Lite logits for a dozen photos in the repository, so that the tests can check the
shipped Keras weights against the original without PyTorch.

The photos: every 37th sample photo (8 of `data/sample_photos/`) and the first 4 of `tests/fixtures/not_fungi/`,
resized to the network's resolution. Needs `pip install -r requirements-convert.txt`.
Usage: python scripts/make_lite_reference_logits.py [0|1|2 ...]   (default: all three)
"""

from __future__ import annotations

import sys

import numpy as np

from champy.atomic import atomic_path
from champy.images import load_model_input
from champy.models.convert_lite import packaged_state_path
from champy.models.efficientnet_lite import LITE_VARIANTS
from champy.models.lite_reference import torch_lite, torch_logits
from champy.paths import DATA_DIR, PROJECT_ROOT

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
NOT_FUNGI = FIXTURES / "not_fungi"


def reference_photos() -> list:
    """The 12 photos, as paths relative to the project root."""
    mushrooms = sorted((DATA_DIR / "sample_photos").glob("*/*.jpg"))[::37][:8]
    return [path.relative_to(PROJECT_ROOT) for path in mushrooms + sorted(NOT_FUNGI.glob("*.jpg"))[:4]]


def main(numbers: list[str]) -> None:
    photos = reference_photos()
    for number in numbers:
        variant = LITE_VARIANTS[f"efficientnet_lite{number}"]
        pixels = np.stack([load_model_input(PROJECT_ROOT / path, variant.size) for path in photos])
        logits = torch_logits(torch_lite(packaged_state_path(variant), variant), pixels)
        target = FIXTURES / f"lite{number}_reference_logits.npz"
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, photos=np.array([path.as_posix() for path in photos]), logits=logits)
        print(f"{len(photos)} photos' logits written to {target.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["0", "1", "2"])
