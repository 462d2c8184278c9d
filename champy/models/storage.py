"""Saving and loading Champy models as `.h5` files, safely and atomically.

Keras 3 treats `.h5` as a legacy format, so both directions are kept narrow and tested: models are
saved without optimizer state through a temporary file renamed into place, and loading refuses
graphs that carry executable code (Lambda layers) before Keras ever deserialises them. Checking a file needs
no Keras (the app lists its models without TensorFlow); loading one imports it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import h5py

from champy.atomic import atomic_path
from champy.errors import ModelLoadError
from champy.path_kind import file_problem

if TYPE_CHECKING:
    import keras

MODEL_SUFFIXES = (".h5", ".keras")
FORBIDDEN_LAYERS = {"Lambda", "TFOpLambda"}


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save `model` to `path` (.h5) without optimizer state; the file appears only when complete."""
    path = Path(path)
    if path.suffix != ".h5":
        raise ValueError(f"Champy ships models as .h5 files, got {path}")
    with atomic_path(path) as tmp:
        keras_tmp = tmp.with_name(tmp.name + ".h5")
        try:
            model.save(keras_tmp, include_optimizer=False)
            os.replace(keras_tmp, tmp)
        finally:
            keras_tmp.unlink(missing_ok=True)
    return path


def _layer_classes(config: dict) -> set[str]:
    found = set()
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("class_name"), str):
                found.add(item["class_name"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def check_h5(path: Path) -> None:
    """Raise ModelLoadError unless `path` is a readable HDF5 model file without code layers (no weights read)."""
    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except OSError as exc:
        raise ModelLoadError(f"{path.name}: not a readable model file ({exc})") from None
    if raw is None:
        raise ModelLoadError(f"{path.name}: holds weights only, not a model")
    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    except (UnicodeDecodeError, ValueError):
        raise ModelLoadError(f"{path.name}: its model_config is not JSON") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path.name}: its model_config is not a Keras model description (a JSON object)")
    unsafe = _layer_classes(config) & FORBIDDEN_LAYERS
    if unsafe:
        raise ModelLoadError(f"{path.name}: refuses to load a model with code layers ({', '.join(sorted(unsafe))})")


def load_keras_model(path: str | os.PathLike) -> keras.Model:
    """Load an `.h5` or `.keras` model for inference (no compile, Keras safe mode, no code layers)."""
    path = Path(path)
    if path.suffix not in MODEL_SUFFIXES:
        raise ModelLoadError(f"{path.name}: only .h5 and .keras model files can be loaded")
    problem = file_problem(path)
    if problem:
        raise ModelLoadError(f"model file {path}: {problem}")
    if path.suffix == ".h5":
        check_h5(path)
    import keras

    try:
        return keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras/h5py raise many types for corrupt or truncated files
        raise ModelLoadError(f"{path.name}: cannot load model ({type(exc).__name__}: {exc})") from None
