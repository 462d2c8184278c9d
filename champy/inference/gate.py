"""The "is this a mushroom at all?" gate, read off an untouched ImageNet network's pooled features.

The gate is a logistic regression over the standardised pooled features (what the ImageNet classifier
reads) of a backbone whose ImageNet weights are shipped in `models/imagenet/`,
fitted on real mushroom photos and on about two thousand photos that are not fungi (`champy
fit-gate`). Its parameters, threshold and the rejection rates measured on held-out sources live in
`models/mushroom_gate.json` (the ImageNet MobileNetV2, the default) or
`models/mushroom_gate_<backbone>.json`. The ImageNet network keeps its original weights, so the gate
does not drift when a species model is fine-tuned, and a model whose frozen trunk is that network's
computes the gate's features in its own forward pass. Reading the gate's parameters needs no TensorFlow: only
computing the features does (Keras is imported there).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from champy.errors import ModelLoadError
from champy.path_kind import file_problem
from champy.paths import IMAGENET_WEIGHTS_DIR, MODELS_DIR

if TYPE_CHECKING:
    import keras

DEFAULT_GATE_BACKBONE = "mobilenet_v2"
GATE_INPUT_SIZE = 224
"""The default gate's (MobileNetV2's) input size."""


@dataclass(frozen=True)
class GateParams:
    """P(mushroom) = sigmoid(coef . (features - mean) / scale + intercept), over pooled ImageNet features."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def logit(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, features: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(features)))


def gate_file(backbone: str = DEFAULT_GATE_BACKBONE) -> Path:
    """Where the gate fitted on `backbone`'s ImageNet features lives (written by `champy fit-gate`)."""
    suffix = "" if backbone == DEFAULT_GATE_BACKBONE else f"_{backbone}"
    return MODELS_DIR / f"mushroom_gate{suffix}.json"


def has_gate(backbone: str) -> bool:
    """Whether a gate and the ImageNet weights it reads are shipped for `backbone`."""
    from champy.models.registry import get_backbone

    notop = get_backbone(backbone).local_weights.get("notop")
    return gate_file(backbone).is_file() and notop is not None and (IMAGENET_WEIGHTS_DIR / notop).is_file()


def gate_input_size(backbone: str = DEFAULT_GATE_BACKBONE) -> int:
    """The square image side `backbone`'s gate reads (the backbone's own input size)."""
    from champy.models.registry import get_backbone

    return get_backbone(backbone).input_size


def read_gate(path: Path) -> GateParams:
    """The gate parameters in the file at `path`; `ModelLoadError` unless it is a regular file holding three finite
    vectors of one length (scales above 0), a finite intercept and a threshold in [0, 1]."""
    problem = file_problem(path)
    if problem:
        raise ModelLoadError(f"{path.name}: {problem}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        vector = {key: np.asarray(data[key]) for key in ("mean", "scale", "coef")}
        numbers = [data["intercept"], data["threshold"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{path.name}: not a mushroom gate ({type(exc).__name__}: {exc})") from None
    lengths = {array.shape for array in vector.values()}
    numeric = all(array.dtype.kind in "iuf" for array in vector.values())
    if not numeric or len(lengths) != 1 or len(next(iter(lengths))) != 1 or not vector["mean"].size:
        raise ModelLoadError(f"{path.name}: mean, scale and coef must be number lists of one length")
    vector = {key: array.astype(np.float64) for key, array in vector.items()}
    if any(isinstance(n, bool) or not isinstance(n, (int, float)) for n in numbers):
        raise ModelLoadError(f"{path.name}: intercept and threshold must be numbers")
    if not all(np.isfinite(array).all() for array in vector.values()) or not np.isfinite(numbers).all():
        raise ModelLoadError(f"{path.name}: a value is not a finite number")
    if (vector["scale"] <= 0).any() or not 0.0 <= numbers[1] <= 1.0:
        raise ModelLoadError(f"{path.name}: scales must be above 0 and the threshold in [0, 1]")
    return GateParams(**vector, intercept=float(numbers[0]), threshold=float(numbers[1]))


@lru_cache(maxsize=4)
def load_gate(backbone: str = DEFAULT_GATE_BACKBONE) -> GateParams:
    """The shipped gate parameters for `backbone`'s ImageNet features (`read_gate`)."""
    return read_gate(gate_file(backbone))


@dataclass(frozen=True)
class PhotoGate:
    """A shipped gate on photos: uint8 pixels at `input_size` in, P(mushroom) out (the dataset's gate step)."""

    backbone: str = DEFAULT_GATE_BACKBONE

    @property
    def input_size(self) -> int:
        return gate_input_size(self.backbone)

    @property
    def threshold(self) -> float:
        return load_gate(self.backbone).threshold

    def probability(self, pixels: np.ndarray) -> np.ndarray:
        return load_gate(self.backbone).probability(gate_features(pixels, self.backbone))


def imagenet_input(pixels, backbone: str = DEFAULT_GATE_BACKBONE):
    """RGB 0..255 pixels normalised as `backbone`'s ImageNet network expects (NumPy or tensors)."""
    from champy.models.factory import normalisation_matrix
    from champy.models.registry import get_backbone

    kernel, bias = normalisation_matrix(get_backbone(backbone).preprocessing)
    return pixels @ kernel.astype(np.float32) + bias.astype(np.float32)


@lru_cache(maxsize=4)
def gate_network(backbone: str = DEFAULT_GATE_BACKBONE) -> keras.Model:
    """`backbone`'s ImageNet trunk (the notop weights shipped in `models/imagenet/`) ending in average pooling:
    from normalised pixels to the pooled features the gate reads."""
    from champy.models.registry import get_backbone

    spec = get_backbone(backbone)
    size = gate_input_size(backbone)
    model = spec.constructor(include_top=False, weights=None, input_shape=(size, size, 3), pooling="avg")
    model.load_weights(str(IMAGENET_WEIGHTS_DIR / spec.local_weights["notop"]))
    return model


def gate_features(pixels: np.ndarray, backbone: str = DEFAULT_GATE_BACKBONE, batch_size: int = 32) -> np.ndarray:
    """The gate's features (pooled ImageNet features) for RGB 0..255 images of `gate_input_size(backbone)`."""
    scaled = imagenet_input(pixels.astype(np.float32), backbone)
    return gate_network(backbone).predict(scaled, batch_size=batch_size, verbose=0)
