"""The "is this a mushroom at all?" gate, read off an untouched ImageNet network's pooled features.

The gate is a logistic regression over the standardised pooled features (the input of the ImageNet
classifier's last layer) of a backbone whose ImageNet weights are shipped in `models/imagenet/`,
fitted on real mushroom photos and on about two thousand photos that are not fungi (`champy
fit-gate`). Its parameters, threshold and the rejection rates measured on held-out sources live in
`models/mushroom_gate.json` (the ImageNet MobileNetV2, the default) or
`models/mushroom_gate_<backbone>.json`. The ImageNet network keeps its original weights, so the gate
does not drift when a species model is fine-tuned, and a model whose frozen trunk is that network's
computes the gate's features in its own forward pass.
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
    vector = {key: np.asarray(data[key], np.float64) for key in ("mean", "scale", "coef")}
    return GateParams(**vector, intercept=float(data["intercept"]), threshold=float(data["threshold"]))


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


def pooled_layer_output(classifier: keras.Model):
    """The tensor the ImageNet classifier's last (dense) layer reads: the gate's features."""
    return classifier.layers[-1].input


@lru_cache(maxsize=4)
def gate_network(backbone: str = DEFAULT_GATE_BACKBONE) -> keras.Model:
    """`backbone`'s ImageNet network from its normalised input to the pooled features the gate reads."""
    classifier = imagenet_classifier(backbone)
    return keras.Model(classifier.input, pooled_layer_output(classifier))


def gate_features(pixels: np.ndarray, backbone: str = DEFAULT_GATE_BACKBONE, batch_size: int = 32) -> np.ndarray:
    """The gate's features (pooled ImageNet features) for RGB 0..255 images of the gate's input size."""
    scaled = imagenet_input(pixels.astype(np.float32), backbone)
    return gate_network(backbone).predict(scaled, batch_size=batch_size, verbose=0)
