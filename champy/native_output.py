"""Native libraries' start-up chatter kept off stderr (TensorFlow's absl and oneDNN lines, TensorFlow Lite's
delegate line), where a CLI user or a log reader would take it for a problem."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (Python's `sys.stderr` is flushed first)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its native start-up chatter (absl, oneDNN, CUDA probing) kept off stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        import tensorflow as tf

        if "TF_CONFIG" not in os.environ:  # multi-worker training must set up its collectives before the first op
            tf.constant(0.0) + 1.0  # first op: device and oneDNN initialisation also log natively
