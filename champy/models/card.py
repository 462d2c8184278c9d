"""Model cards: the JSON file beside every shipped `.h5` that says what the model is and how good it is.

A card records the backbone and where its weights came from, the input and preprocessing, the
labels in output order with their taxonomy, the training data (source, per-class counts, a hash of
the file list, the split), held-out metrics with the data they were measured on, calibration and
open-set thresholds, the training history and the software versions.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

from champy.atomic import write_json
from champy.errors import ModelLoadError
from champy.models.card_values import value_problems

CARD_VERSION = 1
REQUIRED_KEYS = {
    "card_version": int,
    "name": str,
    "backbone": str,
    "weights": dict,
    "input": dict,
    "rank": str,
    "labels": list,
    "data": dict,
    "split": dict,
    "metrics": dict,
    "versions": dict,
}
ENSEMBLE_SUFFIX = ".ensemble.json"
"""An ensemble's card is the whole model (`champy.inference.ensemble`): its members are shipped models."""
REQUIRED_INPUT_KEYS = ("size", "pixels", "resize", "normalisation")
REQUIRED_LABEL_KEYS = ("name", "genus")


def card_path(model_path: str | os.PathLike) -> Path:
    """The card that belongs to a model file: `models/x.h5` -> `models/x.json`."""
    return Path(model_path).with_suffix(".json")


def model_name(path: str | os.PathLike) -> str:
    """A model's name from its file: `models/x.h5` and `models/x.ensemble.json` -> `x`."""
    path = Path(path)
    return path.name[: -len(ENSEMBLE_SUFFIX)] if path.name.endswith(ENSEMBLE_SUFFIX) else path.stem


def software_versions() -> dict[str, str]:
    """Versions of the software that produced a model."""
    import keras
    import tensorflow as tf

    from champy import __version__

    return {
        "champy": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def validate_card(card: Any, num_outputs: int | None = None) -> list[str]:
    """Every problem found in `card` (an empty list when it is valid)."""
    if not isinstance(card, dict):
        return ["the card is not a JSON object"]
    problems = []
    for key, kind in REQUIRED_KEYS.items():
        if key not in card:
            problems.append(f"missing key {key!r}")
        elif not isinstance(card[key], kind):
            problems.append(f"{key!r} should be a {kind.__name__}")
    if problems:
        return problems
    problems += [f"input lacks {key!r}" for key in REQUIRED_INPUT_KEYS if key not in card["input"]]
    for i, label in enumerate(card["labels"]):
        if not isinstance(label, dict) or any(key not in label for key in REQUIRED_LABEL_KEYS):
            problems.append(f"label {i} needs {', '.join(REQUIRED_LABEL_KEYS)}")
    names = [label.get("name") for label in card["labels"] if isinstance(label, dict)]
    if len(set(names)) != len(names):
        problems.append("label names are not unique")
    if num_outputs is not None and len(card["labels"]) != num_outputs:
        problems.append(f"{len(card['labels'])} labels for a model with {num_outputs} outputs")
    return problems or value_problems(card)


def write_card(card: dict, path: str | os.PathLike) -> None:
    """Validate and write a card atomically."""
    problems = validate_card(card)
    if problems:
        raise ValueError("invalid model card: " + "; ".join(problems))
    write_json(path, card)


def read_card(path: str | os.PathLike, num_outputs: int | None = None) -> dict:
    """Read and validate a card, raising `ModelLoadError` with the reasons if it is unusable."""
    path = Path(path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"model card not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path.name}: not valid JSON ({exc})") from None
    problems = validate_card(card, num_outputs)
    if problems:
        raise ModelLoadError(f"{path.name}: invalid model card ({'; '.join(problems)})")
    return card
