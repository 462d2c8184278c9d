"""One loader for every model: a name (or path) becomes a single network (`ChampyModel`) or an ensemble.

`load_model` is the only place that knows both kinds, so `model` and `ensemble` import one way (the ensemble uses
single networks, never the other way round). A single network answers in LiteRT from its compiled form; one whose
compiled form is missing or stale loads in TensorFlow once, to be compiled and cached.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache
from pathlib import Path

from champy.errors import ModelLoadError
from champy.inference.compiled import cache_dir, load_compiled, model_digest
from champy.inference.ensemble import EnsembleModel, Model
from champy.inference.model import ChampyModel, refuse_unloadable, resolve_model_path
from champy.models.card import ENSEMBLE_SUFFIX, card_path, model_name, read_card
from champy.path_kind import file_problem
from champy.paths import DEFAULT_MODEL

log = logging.getLogger(__name__)
RUNTIME_ENV = "CHAMPY_RUNTIME"
"""Set to "tensorflow", `load_model` answers in TensorFlow as before the LiteRT path (`benchmarks/litert.py`)."""
_LOADING = threading.RLock()
"""One load at a time: the app's warm-up thread and a page asking for the same member never load it twice."""


def _load_single(path: Path) -> ChampyModel:
    problem = file_problem(path)
    if problem:
        raise ModelLoadError(f"model file {path}: {problem}")
    card = read_card(card_path(path))
    compiled = load_compiled(model_name(path), model_digest(path), None)
    if compiled is not None:
        return ChampyModel(path, card, compiled)
    log.warning("%s: no current compiled form in %s, compiling it with TensorFlow", model_name(path), cache_dir())
    from champy.inference.keras_model import KerasModel

    model = KerasModel.load(path)
    return ChampyModel(path, model.card, model.compiled_form) if model.compile() else model


@cache  # every model once: an ensemble and a page asking for its member share one copy
def _load(path: Path) -> Model:
    refuse_unloadable(path)
    if path.name.endswith(ENSEMBLE_SUFFIX):
        return EnsembleModel(path, read_card(path), load_model)
    return _load_single(path)


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> Model:
    """Load a model once per process (later calls return the same object); an ensemble comes back as an
    `EnsembleModel`, which answers wherever a `ChampyModel` does."""
    if os.environ.get(RUNTIME_ENV) == "tensorflow":
        from champy.inference.keras_model import load_tensorflow_model

        return load_tensorflow_model(name_or_path)
    with _LOADING:
        return _load(Path(os.path.abspath(resolve_model_path(name_or_path))))  # a link is checked as named
