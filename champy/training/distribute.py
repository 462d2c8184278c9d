"""Hardware: the CPU fast path on CPU-only machines; mixed precision and data parallelism on GPUs.

On one machine with GPUs, `tf.distribute.MirroredStrategy` replicates the model on every GPU. For
several machines, set `TF_CONFIG` (cluster and task, as TensorFlow documents) on each worker and the
same command uses `MultiWorkerMirroredStrategy`.
"""

from __future__ import annotations

import json
import logging
import os

import keras
import tensorflow as tf

log = logging.getLogger(__name__)


def gpu_count() -> int:
    return len(tf.config.list_physical_devices("GPU"))


def resolve_mode(mode: str) -> str:
    """"auto" means the full image pipeline on GPUs and the cached fast path on CPU."""
    if mode not in ("auto", "cached", "full"):
        raise ValueError(f"unknown training mode {mode!r}")
    if mode == "auto":
        return "full" if gpu_count() else "cached"
    return mode


def choose_strategy() -> tf.distribute.Strategy:
    """Multi-worker when TF_CONFIG names a cluster, mirrored on local GPUs, else the default."""
    if "TF_CONFIG" in os.environ and json.loads(os.environ["TF_CONFIG"]).get("cluster"):
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif gpu_count() > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    if gpu_count():
        keras.mixed_precision.set_global_policy("mixed_float16")
    log.info("training with %s on %d replica(s), %d GPU(s)", type(strategy).__name__, strategy.num_replicas_in_sync, gpu_count())
    return strategy
