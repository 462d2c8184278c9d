"""Many photos at once: decoded and resized in parallel into one array, for training, evaluation and the gate."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from champy.images import load_model_input


def load_images(paths: list[str], size: int, workers: int = 4) -> np.ndarray:
    """Decode and resize every image in parallel into one uint8 array (N, size, size, 3)."""

    def one(path: str) -> np.ndarray:
        return load_model_input(path, size).astype(np.uint8)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.stack(list(pool.map(one, paths))) if paths else np.zeros((0, size, size, 3), np.uint8)
