"""Hardware: the CPU fast path on CPU-only machines; mixed precision and data parallelism on GPUs.

On one machine with GPUs, `tf.distribute.MirroredStrategy` replicates the model on every GPU.

Several machines
----------------
Start the same `champy train --mode full ...` command on every machine, each with `TF_CONFIG`
naming the whole cluster and its own place in it, for example on the first of two machines::

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}' python -m champy train --mode full ...

and `"index": 1` on the second. The workers train one model with `MultiWorkerMirroredStrategy`,
each on its share of every batch (`--batch-size` is the global batch). The chief (worker 0, or the
"chief" task if the cluster names one) writes the `.h5`, the card and the run folder as on one
machine; every other worker keeps its checkpoints and a copy of the outputs in its own sub-folder
of the run folder (`runs/NAME/worker1/`), so workers may share a disk and each can resume.
The cached CPU fast path runs on one machine only.
"""

from __future__ import annotations

import json
import logging
import os

import keras
import tensorflow as tf

from champy.errors import ChampyError

log = logging.getLogger(__name__)


def gpu_count() -> int:
    return len(tf.config.list_physical_devices("GPU"))


def multi_worker_cluster() -> bool:
    """Whether `TF_CONFIG` names a cluster, i.e. this process is one worker of several."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return False
    try:
        return bool(json.loads(raw).get("cluster"))
    except (ValueError, AttributeError):
        raise ChampyError("TF_CONFIG is not a JSON object with 'cluster' and 'task'") from None


def resolve_mode(mode: str) -> str:
    """ "auto" means the full image pipeline on GPUs or several workers, and the cached fast path on one CPU."""
    if mode not in ("auto", "cached", "full"):
        raise ValueError(f"unknown training mode {mode!r}")
    if mode == "cached" and multi_worker_cluster():
        raise ChampyError("the cached CPU fast path runs on one machine; use --mode full with TF_CONFIG")
    if mode == "auto":
        return "full" if multi_worker_cluster() or gpu_count() else "cached"
    return mode


def choose_strategy() -> tf.distribute.Strategy:
    """Multi-worker when TF_CONFIG names a cluster, mirrored on local GPUs, else the default.

    Call it before any other TensorFlow operation: a multi-worker strategy sets up its collective
    operations when the TensorFlow runtime starts.
    """
    if multi_worker_cluster():
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _reduce_multi_worker_logs_whole()
    elif gpu_count() > 1:
        strategy = tf.distribute.MirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    if gpu_count():
        keras.mixed_precision.set_global_policy("mixed_float16")
    log.info(
        "training with %s on %d replica(s), %d GPU(s)",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        gpu_count(),
    )
    return strategy


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the shared outputs (always true on one machine)."""
    return bool(strategy.extended.should_checkpoint)


def worker_name(strategy: tf.distribute.Strategy) -> str:
    """This process's place in the cluster, e.g. "worker1"."""
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}{resolver.task_id}"


def prepare_multi_worker_model(model: keras.Model) -> None:
    """Let `fit` take its strategy from the enclosing `strategy.scope()` rather than the model.

    Keras 3 (up to 3.15 at least) builds a model that holds a multi-worker strategy by averaging a
    whole input batch across workers, which TensorFlow refuses; without a strategy of its own, the
    model is built while its first training step is traced, inside the scope, which works.
    """
    model._distribute_strategy = None


def _reduce_multi_worker_logs_whole() -> None:
    """Average each step's logs (loss, metrics) across workers as whole values.

    Keras 3 (up to 3.15 at least) averages them across workers along axis 0, which fails for the
    scalar loss and metrics. Replaced once; single-machine strategies keep the Keras code.
    """
    from keras.src.backend.tensorflow import trainer as tf_trainer

    keras_reduce = tf_trainer.reduce_per_replica
    if getattr(keras_reduce, "whole_values", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(strategy):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.whole_values = True
    tf_trainer.reduce_per_replica = reduce_per_replica
