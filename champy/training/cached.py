"""The CPU fast path: run the frozen bottom of the network once, train the top on cached activations.

Everything below the fine-tuning boundary (`Backbone.finetune_after`) stays frozen in both phases,
so its output for a given input never changes. Each training image is pushed through the bottom
once per view (the first plain, the others through the model's own augmentation layers) and the
activations are cached on disk; both phases then train only the top blocks and the head, drawing
one random view per image per epoch. On 2 CPU cores this turns minutes per epoch into seconds.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from champy.atomic import atomic_path
from champy.training.degrade import degrade_batch


def split_at(model: keras.Model, boundary: str) -> tuple[keras.Model, keras.Model]:
    """The bottom (input -> boundary) and top (boundary -> output) of a flat model, sharing layers."""
    cut = model.get_layer(boundary).output
    return keras.Model(model.input, cut, name="bottom"), keras.Model(cut, model.output, name="top")


def compute_views(
    bottom: keras.Model, images: np.ndarray, views: int, batch_size: int, seed: int, degraded: bool = False
) -> np.ndarray:
    """Boundary activations, float16, shaped (views, N, ...): view 0 plain, the others augmented (and with
    `degraded`, their photos first put through `champy.training.degrade`)."""
    for layer in bottom.layers:
        layer.trainable = False  # frozen BatchNorm runs in inference mode even when training=True
    keras.utils.set_random_seed(seed)
    plain = tf.function(lambda x: bottom(x, training=False))
    augmented = tf.function(lambda x: bottom(x, training=True))
    rng = np.random.default_rng(seed)
    out = None
    for view in range(views):
        run = plain if view == 0 else augmented
        for start in range(0, len(images), batch_size):
            pixels = images[start : start + batch_size]
            if degraded and view > 0:
                pixels = degrade_batch(pixels, rng)
            batch = run(tf.constant(pixels, tf.float32)).numpy().astype(np.float16)
            if out is None:
                out = np.empty((views, len(images), *batch.shape[1:]), np.float16)
            out[view, start : start + len(batch)] = batch
    return out


def cached_views(path: Path, compute) -> np.ndarray:
    """Load the activations cached at `path`, or compute and save them atomically."""
    if path.is_file():
        return np.load(path)
    values = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, values)
    return values


class RandomViews(keras.utils.PyDataset):
    """Batches of (activation, label, sample weight) drawing one random view per image each epoch."""

    def __init__(self, views: np.ndarray, labels: np.ndarray, weights: np.ndarray, batch_size: int, seed: int):
        super().__init__()
        self.views, self.labels, self.weights = views, labels, weights
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.labels))
        self.choice = self.rng.integers(0, len(self.views), len(self.labels))

    def __len__(self) -> int:
        return int(np.ceil(len(self.labels) / self.batch_size))

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.views[self.choice[rows], rows].astype(np.float32)
        return x, self.labels[rows], self.weights[rows]
