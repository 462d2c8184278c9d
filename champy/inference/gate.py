"""The "is this a mushroom at all?" gate, built on the untouched ImageNet MobileNetV2.

ImageNet already has fungi classes (mushroom, coral fungus, agaric, gyromitra, stinkhorn, earthstar,
hen-of-the-woods, bolete). The gate is a logistic regression over the log-probabilities of all 1000
ImageNet classes, fitted on real mushroom photos and on photos that are not fungi; its parameters,
threshold and measured error rates live in `models/mushroom_gate.json` (on the ImageNet MobileNetV2,
the default) or `models/mushroom_gate_<backbone>.json` for another backbone whose ImageNet classifier
is shipped in `models/imagenet/`. The ImageNet network keeps its original weights, so the gate does
not drift when a species model is fine-tuned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np

from champy.models.factory import normalisation_matrix
from champy.models.registry import get_backbone
from champy.paths import IMAGENET_WEIGHTS_DIR, MODELS_DIR

DEFAULT_GATE_BACKBONE = "mobilenet_v2"
GATE_INPUT_SIZE = 224
EPS = 1e-7


@dataclass(frozen=True)
class GateParams:
    """Logistic-regression gate: P(mushroom) = sigmoid(coef . log p_imagenet + intercept)."""

    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, imagenet_probs: np.ndarray) -> np.ndarray:
        logits = np.log(np.clip(imagenet_probs, EPS, 1.0)) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))


def gate_file(backbone: str = DEFAULT_GATE_BACKBONE) -> Path:
    """Where the gate fitted on `backbone`'s ImageNet classifier lives (written by `champy fit-gate`)."""
    suffix = "" if backbone == DEFAULT_GATE_BACKBONE else f"_{backbone}"
    return MODELS_DIR / f"mushroom_gate{suffix}.json"


def has_gate(backbone: str) -> bool:
    """Whether a gate and the ImageNet classifier it reads are shipped for `backbone`."""
    top = get_backbone(backbone).local_weights.get("top")
    return gate_file(backbone).is_file() and top is not None and (IMAGENET_WEIGHTS_DIR / top).is_file()


@lru_cache(maxsize=4)
def load_gate(backbone: str = DEFAULT_GATE_BACKBONE) -> GateParams:
    """The shipped gate parameters for `backbone`'s ImageNet classifier."""
    data = json.loads(gate_file(backbone).read_text(encoding="utf-8"))
    return GateParams(np.asarray(data["coef"], np.float64), float(data["intercept"]), float(data["threshold"]))


@lru_cache(maxsize=4)
def imagenet_classifier(backbone: str = DEFAULT_GATE_BACKBONE) -> keras.Model:
    """`backbone`'s ImageNet classifier (1000 classes) from the weights shipped in `models/imagenet/`."""
    spec = get_backbone(backbone)
    model = spec.constructor(include_top=True, weights=None, input_shape=(GATE_INPUT_SIZE, GATE_INPUT_SIZE, 3))
    model.load_weights(str(IMAGENET_WEIGHTS_DIR / spec.local_weights["top"]))
    return model


def imagenet_input(pixels, backbone: str = DEFAULT_GATE_BACKBONE):
    """RGB 0..255 pixels normalised as `backbone`'s ImageNet classifier expects (NumPy or tensors)."""
    kernel, bias = normalisation_matrix(get_backbone(backbone).preprocessing)
    return pixels @ kernel.astype(np.float32) + bias.astype(np.float32)


def imagenet_probabilities(pixels: np.ndarray, backbone: str = DEFAULT_GATE_BACKBONE, batch_size: int = 32) -> np.ndarray:
    """ImageNet class probabilities for RGB 0..255 images of the gate's input size."""
    scaled = imagenet_input(pixels.astype(np.float32), backbone)
    return imagenet_classifier(backbone).predict(scaled, batch_size=batch_size, verbose=0)
