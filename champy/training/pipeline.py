"""Feeding images to training: decoded once by the shared loader, then batched by tf.data.

Images go through `champy.images.load_model_input`, the same code the identification core uses,
so a photo is resized identically in training and at inference (`champy.image_batch` decodes whole arrays).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from champy.images import load_model_input


def image_dataset(
    paths: list[str],
    labels: np.ndarray,
    size: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
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
