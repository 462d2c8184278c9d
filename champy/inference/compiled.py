"""A model's convolutional layers compiled for the CPU with TensorFlow Lite (XNNPACK kernels), cached on disk.

For one photo, TensorFlow's graph executor spends much of a pass on per-operation overhead; the same layers
converted to a TensorFlow Lite flatbuffer run about twice as fast on the CPU (`benchmarks/predict.py` measures both
in one run). The forward pass is compiled (the last convolutional maps, the gate's pooled ImageNet features and the
class probabilities); Grad-CAM's gradient stays in TensorFlow on those maps, so an answer differs from the
uncompiled one by float rounding only (`tests/test_compiled.py`).

Compiling takes a few seconds per network, so the flatbuffer is kept in `$CHAMPY_COMPILED_CACHE` (default
`~/.cache/champy/compiled`), named by a digest of everything it was built from (the model file, the gate's ImageNet
weights, the TensorFlow version); a changed model never meets a stale flatbuffer.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from champy.atomic import write_bytes
from champy.native_output import native_stderr_silenced

log = logging.getLogger(__name__)
CACHE_ENV = "CHAMPY_COMPILED_CACHE"
FORMAT = "champy-forward-1"
"""Changes whenever what a flatbuffer computes changes, so older ones are never read."""


def cache_dir() -> Path:
    """`$CHAMPY_COMPILED_CACHE`, else `~/.cache/champy/compiled`."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "champy" / "compiled"


def build_digest(sources: list[Path]) -> str:
    """A digest of the files a flatbuffer is built from, the TensorFlow version and the format."""
    digest = hashlib.sha256(f"{FORMAT} {tf.__version__}".encode())
    for source in sources:
        with open(source, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:24]


_CONVERTING = threading.Lock()
"""Held while the converter runs; a process about to exit waits for it (`_no_conversion_at_exit`)."""


@atexit.register
def _no_conversion_at_exit() -> None:
    """Let a conversion in progress finish and start no other: a background thread still inside the converter's native
    code while the interpreter shuts down aborts the whole process."""
    _CONVERTING.acquire(timeout=300)


def compile_forward(function: tf.types.experimental.GenericFunction, network: tf.Module) -> bytes:
    """Convert a `tf.function` with one input signature that runs `network` to a flatbuffer. The function returns
    two tensors told apart by their rank: feature maps (batch, height, width, channels) and one vector per photo."""
    with _CONVERTING:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], network)
        return converter.convert()


def load_compiled(name: str, digest: str, build: Callable[[], bytes] | None) -> CompiledForward | None:
    """The compiled forward pass `<name>-<digest>` from the cache, else built by `build` and cached (atomically);
    None without `build`, or when building fails (the model then runs in TensorFlow). A cached flatbuffer that does
    not load is replaced."""
    path = cache_dir() / f"{name}-{digest}.tflite"
    try:
        return CompiledForward(path.read_bytes())
    except FileNotFoundError:
        pass
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("ignoring the compiled %s: %s", path, exc)
    if build is None:
        return None
    try:
        flatbuffer = build()
        compiled = CompiledForward(flatbuffer)
    except Exception as exc:  # the converter raises its own error types; the TensorFlow path still answers
        log.warning("cannot compile %s (it runs in TensorFlow): %s", name, exc)
        return None
    try:
        write_bytes(path, flatbuffer)
    except OSError as exc:  # a read-only home still gets the speed, just not across restarts
        log.warning("cannot cache the compiled %s in %s: %s", name, path.parent, exc)
    return compiled


_DELEGATE_LINE_SHOWN = threading.Event()
"""Set once TensorFlow Lite has printed (to /dev/null) its one-line notice, once per process, of the CPU delegate."""
_FIRST_ALLOCATION = threading.Lock()
"""One thread at a time silences stderr: two at once would restore each other's silenced copy."""


def _allocate(interpreter: tf.lite.Interpreter) -> None:
    """Allocate an interpreter's tensors; the first time in the process, with native stderr silenced (TensorFlow Lite
    prints "Created TensorFlow Lite XNNPACK delegate for CPU." then, which would mix into a CLI's error output)."""
    if not _DELEGATE_LINE_SHOWN.is_set():
        with _FIRST_ALLOCATION:
            if not _DELEGATE_LINE_SHOWN.is_set():
                with native_stderr_silenced():
                    interpreter.allocate_tensors()
                _DELEGATE_LINE_SHOWN.set()
                return
    interpreter.allocate_tensors()


class CompiledForward:
    """A TensorFlow Lite interpreter over one compiled forward pass. Not thread-safe: one call at a time
    (`ChampyModel.run` holds its lock)."""

    def __init__(self, flatbuffer: bytes, threads: int = 2) -> None:
        with warnings.catch_warnings():  # tf.lite.Interpreter announces its move to another package
            warnings.simplefilter("ignore")
            self._interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {len(detail["shape"]): detail["index"] for detail in self._interpreter.get_output_details()}
        self._maps, self._vectors = outputs[4], outputs[2]
        self._shape: tuple[int, ...] | None = None

    def __call__(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The compiled function's outputs (maps, one vector per photo) for a batch of RGB 0..255 pixels."""
        pixels = np.ascontiguousarray(pixels, np.float32)
        if pixels.shape != self._shape:
            self._interpreter.resize_tensor_input(self._input, pixels.shape)
            _allocate(self._interpreter)
            self._shape = pixels.shape
        self._interpreter.set_tensor(self._input, pixels)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._maps), self._interpreter.get_tensor(self._vectors)
