"""The "is this a mushroom at all?" gate, built on the untouched ImageNet MobileNetV2.

ImageNet already has fungi classes (mushroom, coral fungus, agaric, gyromitra, stinkhorn, earthstar,
hen-of-the-woods, bolete). The gate is a logistic regression over the log-probabilities of all 1000
ImageNet classes, fitted on real mushroom photos and on photos that are not fungi; its parameters,
threshold and measured error rates live in `models/mushroom_gate.json`. The ImageNet network keeps
its original weights, so the gate does not drift when a species model is fine-tuned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np

from champy.paths import IMAGENET_WEIGHTS_DIR, MODELS_DIR

FUNGI_CLASSES = (947, 991, 992, 993, 994, 995, 996, 997)
GATE_FILE = MODELS_DIR / "mushroom_gate.json"  # written by `champy fit-gate`
IMAGENET_TOP_WEIGHTS = IMAGENET_WEIGHTS_DIR / "mobilenet_v2_1.0_224_imagenet.weights.h5"
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


def fungi_mass(imagenet_probs: np.ndarray) -> np.ndarray:
    """Summed probability of the eight ImageNet fungi classes."""
    return imagenet_probs[..., list(FUNGI_CLASSES)].sum(axis=-1)


@lru_cache(maxsize=1)
def load_gate(path: Path = GATE_FILE) -> GateParams:
    """The shipped gate parameters."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return GateParams(np.asarray(data["coef"], np.float64), float(data["intercept"]), float(data["threshold"]))


@lru_cache(maxsize=1)
def imagenet_mobilenet_v2() -> keras.Model:
    """The ImageNet MobileNetV2 classifier (1000 classes) from the weights shipped in `models/imagenet/`."""
    model = keras.applications.MobileNetV2(include_top=True, weights=None, input_shape=(GATE_INPUT_SIZE, GATE_INPUT_SIZE, 3))
    model.load_weights(str(IMAGENET_TOP_WEIGHTS))
    return model


def imagenet_probabilities(pixels: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """ImageNet class probabilities for RGB 0..255 images of the gate's input size."""
    model = imagenet_mobilenet_v2()
    scaled = pixels.astype(np.float32) / 127.5 - 1.0
    return model.predict(scaled, batch_size=batch_size, verbose=0)
