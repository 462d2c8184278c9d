"""Feeding images to training: decoded once by the shared loader, then batched by tf.data.

Images go through `champy.images.load_model_input`, the same code the identification core uses,
so a photo is resized identically in training and at inference.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from champy.images import load_model_input


def load_images(paths: list[str], size: int, workers: int = 4) -> np.ndarray:
    """Decode and resize every image in parallel into one uint8 array (N, size, size, 3)."""
    def one(path: str) -> np.ndarray:
        return load_model_input(path, size).astype(np.uint8)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.stack(list(pool.map(one, paths))) if paths else np.zeros((0, size, size, 3), np.uint8)


def image_dataset(
    paths: list[str], labels: np.ndarray, size: int, batch_size: int, shuffle: bool, seed: int,
    sample_weights: np.ndarray | None = None,
) -> tf.data.Dataset:
    """A tf.data pipeline over image files: parallel decode, cache, shuffle, batch, prefetch."""
    def decode(path: tf.Tensor) -> tf.Tensor:
        pixels = tf.numpy_function(lambda p: load_model_input(p.decode("utf-8"), size), [path], tf.float32)
        return tf.ensure_shape(pixels, (size, size, 3))

    columns = (paths, labels) if sample_weights is None else (paths, labels, sample_weights)
    data = tf.data.Dataset.from_tensor_slices(columns)
    data = data.map(lambda p, *rest: (decode(p), *rest), num_parallel_calls=tf.data.AUTOTUNE).cache()
    if shuffle:
        data = data.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
