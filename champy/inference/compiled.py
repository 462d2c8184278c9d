"""A model's forward pass compiled for the CPU (a TensorFlow Lite flatbuffer, XNNPACK kernels), cached on disk and
run by the LiteRT runtime (`ai-edge-litert`) without TensorFlow.

The flatbuffer computes the last convolutional maps and, in one vector per photo, the gate's pooled ImageNet features
and the class probabilities. Beside it, a small `.head.npz` holds the head's dense weights (Grad-CAM in NumPy,
`champy.inference.head`), which gate network the model reads and that network's weights' digest. Together they are
all `identify` needs: a model whose compiled form is in the cache and current loads without TensorFlow.

Compiling takes TensorFlow and a few seconds per network, so both files are kept in `$CHAMPY_COMPILED_CACHE`
(default `~/.cache/champy/compiled`), named by a digest of the model file, its card, the TensorFlow version that
converted it and `FORMAT`; the gate weights' digest is checked when they are read. A changed model never meets a
stale flatbuffer, and a flatbuffer is bound to its model: the head file names the form it was written for and the
flatbuffer's sha256, both checked on reading, and only regular files are read (a pipe or a link to a device under the
expected name is refused, as is a file larger than `MAX_FLATBUFFER_BYTES`). They are built at first use rather than
shipped in `models/`: they would add about 25 MB per network to the repository beside the `.h5` files (the models of
record), and go stale with every retrained model or TensorFlow upgrade, whereas building them takes about 22 s for the
default ensemble's three, once per machine.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import io
import logging
import os
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from champy.atomic import write_bytes
from champy.images import LIBC
from champy.inference.head import DenseHead
from champy.models.card import card_path
from champy.native_output import native_stderr_silenced
from champy.path_kind import file_problem
from champy.paths import IMAGENET_WEIGHTS_DIR

log = logging.getLogger(__name__)
CACHE_ENV = "CHAMPY_COMPILED_CACHE"
FORMAT = "champy-forward-3"
"""Changes whenever what a flatbuffer or its head file holds changes, so older ones are never read."""
MAX_FLATBUFFER_BYTES = 512 * 2**20
"""No network Champy compiles comes near this (about 25 MB each)."""
STALE_PART_S = 600
"""A `.part` file this old in the cache was left by a killed write (a write takes well under a second)."""
MADV_DONTNEED = 4
"""Linux's madvise advice: drop the resident pages of a range (a file's are read again from it when needed)."""
Build = Callable[[], tuple[bytes, dict[str, np.ndarray]]]
"""Builds a compiled form: the flatbuffer, and the head's arrays with `gate_backbone`, `gate_weights` and `params`."""


def cache_dir() -> Path:
    """`$CHAMPY_COMPILED_CACHE`, else `~/.cache/champy/compiled`."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "champy" / "compiled"


def tensorflow_version() -> str:
    """The installed TensorFlow's version, read without importing it ("none" without TensorFlow)."""
    try:
        return metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        return "none"


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_digest(sources: list[Path]) -> str:
    """A digest of the files a flatbuffer is built from, the TensorFlow version and the format."""
    digest = hashlib.sha256(f"{FORMAT} {tensorflow_version()}".encode())
    for source in sources:
        digest.update(file_digest(source).encode())
    return digest.hexdigest()[:24]


def model_digest(model_path: Path) -> str:
    """The digest naming a model's compiled form: its network file and its card."""
    return build_digest([model_path, card_path(model_path)])


@lru_cache(maxsize=8)
def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete the `.part` files a killed compile left in `folder` (older than `STALE_PART_S`), once per process;
    returns what was removed."""
    removed = []
    for part in folder.glob(".*.part"):
        try:
            if time.time() - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
                removed.append(part)
        except OSError:  # another process removed or renamed it meanwhile
            continue
    if removed:
        log.info("removed %d unfinished file(s) from %s", len(removed), folder)
    return removed


_CONVERTING = threading.Lock()
"""Held while the converter runs; a process about to exit waits for it (`_no_conversion_at_exit`)."""


@atexit.register
def _no_conversion_at_exit() -> None:
    """Let a conversion in progress finish and start no other: a background thread still inside the converter's native
    code while the interpreter shuts down aborts the whole process."""
    _CONVERTING.acquire(timeout=300)


def compile_forward(function, network) -> bytes:
    """Convert a `tf.function` with one input signature that runs `network` (a `tf.Module`) to a flatbuffer. The
    function returns two tensors told apart by their rank: feature maps (batch, height, width, channels) and one
    vector per photo."""
    import tensorflow as tf

    with _CONVERTING:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], network)
        return converter.convert()


@dataclass(frozen=True)
class Compiled:
    """A model's compiled form: the forward pass, its head for Grad-CAM, the gate network it reads and its size."""

    forward: CompiledForward
    head: DenseHead
    gate_backbone: str
    params: int

    @property
    def embedding_size(self) -> int:
        """The channels of the last convolutional maps."""
        return self.forward.channels


def _head_file(flatbuffer: Path) -> Path:
    return flatbuffer.with_suffix(".head.npz")


def _regular_file(path: Path, limit: int) -> None:
    """FileNotFoundError when `path` is missing, ValueError unless it is a regular file of at most `limit` bytes."""
    problem = file_problem(path)
    if problem == "file not found":
        raise FileNotFoundError(path)
    if problem:
        raise ValueError(f"{path.name} {problem}")
    if path.stat().st_size > limit:
        raise ValueError(f"{path.name} is larger than {limit // 2**20} MB")


def _read(path: Path) -> Compiled:
    """The compiled form at `path` (and its head file); `ValueError` when either is not a regular file, when they
    were written for another compiled form or another flatbuffer, or when the gate weights changed since."""
    head = _head_file(path)
    _regular_file(head, MAX_FLATBUFFER_BYTES)
    with np.load(head, allow_pickle=False) as stored:
        named = dict(stored)
    if str(named["compiled_as"]) != path.stem:
        raise ValueError(f"{head.name} was written for {str(named['compiled_as'])[:80]!r}")
    gate_weights = IMAGENET_WEIGHTS_DIR / str(named["gate_weights"])
    if file_digest(gate_weights) != str(named["gate_sha256"]):
        raise ValueError(f"{gate_weights.name} changed since it was compiled")
    _regular_file(path, MAX_FLATBUFFER_BYTES)
    if file_digest(path) != str(named["flatbuffer_sha256"]):
        raise ValueError(f"{path.name} is not the flatbuffer its head file was written with")
    return _compiled(path, named)


def _compiled(flatbuffer: bytes | Path, named: dict[str, np.ndarray]) -> Compiled:
    """A compiled form from its flatbuffer (or the file holding it) and its head file's arrays."""
    head = DenseHead.from_arrays(named)
    return Compiled(CompiledForward(flatbuffer), head, str(named["gate_backbone"]), int(named["params"]))


def load_compiled(name: str, digest: str, build: Build | None) -> Compiled | None:
    """The compiled form `<name>-<digest>` from the cache, else built by `build` and cached (atomically, the head file
    first); None without `build`, or when building fails (the model then runs in TensorFlow). A cached form that does
    not load, or whose gate weights changed, is replaced."""
    remove_stale_parts(cache_dir())
    path = cache_dir() / f"{name}-{digest}.tflite"
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as exc:
        log.warning("ignoring the compiled %s: %s", path, exc)
    if build is None:
        return None
    try:
        flatbuffer, named = build()
        compiled = _compiled(flatbuffer, named)
    except Exception as exc:  # the converter raises its own error types; the TensorFlow path still answers
        log.warning("cannot compile %s (it runs in TensorFlow): %s", name, exc)
        return None
    try:
        arrays = io.BytesIO()
        np.savez(
            arrays,
            **named,
            gate_sha256=file_digest(IMAGENET_WEIGHTS_DIR / str(named["gate_weights"])),
            flatbuffer_sha256=hashlib.sha256(flatbuffer).hexdigest(),
            compiled_as=path.stem,
        )
        write_bytes(_head_file(path), arrays.getvalue())
        write_bytes(path, flatbuffer)
    except OSError as exc:  # a read-only home still gets the speed, just not across restarts
        log.warning("cannot cache the compiled %s in %s: %s", name, path.parent, exc)
        return compiled
    return _compiled(path, named)  # mapped from the file, as a later start will (see `CompiledForward`)


_DELEGATE_LINE_SHOWN = threading.Event()
"""Set once LiteRT has printed (to /dev/null) its one-line notice, once per process, of the CPU delegate."""
_FIRST_ALLOCATION = threading.Lock()
"""One thread at a time silences stderr: two at once would restore each other's silenced copy."""


def _allocate(interpreter: Interpreter) -> None:
    """Allocate an interpreter's tensors; the first time in the process, with native stderr silenced (LiteRT prints
    "Created TensorFlow Lite XNNPACK delegate for CPU." then, which would mix into a CLI's error output)."""
    if not _DELEGATE_LINE_SHOWN.is_set():
        with _FIRST_ALLOCATION:
            if not _DELEGATE_LINE_SHOWN.is_set():
                with native_stderr_silenced():
                    interpreter.allocate_tensors()
                _DELEGATE_LINE_SHOWN.set()
                return
    interpreter.allocate_tensors()


def drop_file_pages(path: Path) -> None:
    """Hand back the resident pages of this process's mappings of the file `path` (Linux; nothing elsewhere). A page
    read again later comes back from the file."""
    if LIBC is None:
        return
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5] == str(path):
            start, end = (int(address, 16) for address in fields[0].split("-"))
            LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_DONTNEED)


class CompiledForward:
    """A LiteRT interpreter over one compiled forward pass. Not thread-safe: one call at a time (`ChampyModel.run`
    holds its lock).

    From a file, the flatbuffer is mapped rather than read: several servers on one machine share its pages, and once
    XNNPACK has packed the weights into its own memory (at the first pass of each input shape) the mapped pages are
    handed back (`drop_file_pages`: about 25 MB per network; the few read again come back from the file)."""

    def __init__(self, flatbuffer: bytes | Path, threads: int = 2) -> None:
        if isinstance(flatbuffer, Path):
            self._file: Path | None = flatbuffer.resolve()
            self._interpreter = Interpreter(model_path=str(self._file), num_threads=threads)
        else:
            self._file = None
            self._interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        details = {len(detail["shape"]): detail for detail in self._interpreter.get_output_details()}
        self._maps, self._vectors = details[4]["index"], details[2]["index"]
        self.channels = int(details[4]["shape"][-1])
        self.vector_size = int(details[2]["shape"][-1])
        """The gate's features and the class probabilities, side by side."""
        self._shape: tuple[int, ...] | None = None

    def __call__(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The compiled function's outputs (maps, one vector per photo) for a batch of RGB 0..255 pixels."""
        pixels = np.ascontiguousarray(pixels, np.float32)
        packed = pixels.shape != self._shape
        if packed:
            self._interpreter.resize_tensor_input(self._input, pixels.shape)
            _allocate(self._interpreter)
            self._shape = pixels.shape
        self._interpreter.set_tensor(self._input, pixels)
        self._interpreter.invoke()
        if packed and self._file is not None:
            drop_file_pages(self._file)
        return self._interpreter.get_tensor(self._maps), self._interpreter.get_tensor(self._vectors)
