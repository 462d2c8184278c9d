"""Backbone weights: Keras' ImageNet download, a local weights file, or random init with a loud warning.

`load_backbone` always returns a stand-alone Keras application model plus a `WeightsOrigin` that
the model card records, so a reader knows whether a model started from pretrained features.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from champy.errors import ChampyError
from champy.models.registry import Backbone
from champy.paths import IMAGENET_WEIGHTS_DIR, PROJECT_ROOT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsOrigin:
    """Where a backbone's initial weights came from."""

    requested: str | None
    source: str  # "keras-imagenet", "local-file" or "random"
    path: str | None = None
    sha256: str | None = None

    @property
    def pretrained(self) -> bool:
        return self.source != "random"

    def to_dict(self) -> dict:
        return {**asdict(self), "pretrained": self.pretrained}


def portable_path(path: str | Path) -> str:
    """`path` as a card records it: relative to the project when inside it, else the file name alone (no card
    holds an absolute path of the machine it was made on; the sha256 beside it identifies the file)."""
    resolved = Path(path).resolve()
    return resolved.relative_to(PROJECT_ROOT).as_posix() if resolved.is_relative_to(PROJECT_ROOT) else resolved.name


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_weights_file(backbone: Backbone, include_top: bool) -> Path | None:
    """The ImageNet weights file shipped in `models/imagenet/` for this backbone, if any."""
    name = backbone.local_weights.get("top" if include_top else "notop")
    path = IMAGENET_WEIGHTS_DIR / name if name else None
    return path if path is not None and path.is_file() else None


def _construct(backbone: Backbone, input_size: int, include_top: bool, weights: str | None) -> keras.Model:
    kwargs = {"include_top": include_top, "weights": weights}
    if not include_top:
        kwargs["input_shape"] = (input_size, input_size, 3)
    return backbone.constructor(**kwargs)


def _from_file(backbone: Backbone, input_size: int, include_top: bool, path: Path, requested: str | None):
    model = _construct(backbone, input_size, include_top, None)
    try:
        model.load_weights(str(path))
    except Exception as exc:  # h5py/Keras raise many types for a wrong or corrupt file
        raise ChampyError(f"cannot load weights file {path} into {backbone.name}: {exc}") from exc
    return model, WeightsOrigin(requested, "local-file", portable_path(path), sha256_of(path))


def _random(backbone: Backbone, input_size: int, include_top: bool, requested: str | None, why: str):
    message = (
        f"NO PRETRAINED WEIGHTS for {backbone.name}: {why}. The backbone starts from RANDOM weights, "
        "so it needs far more data and epochs to be useful."
    )
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    log.warning(message)
    return _construct(backbone, input_size, include_top, None), WeightsOrigin(requested, "random")


def load_backbone(
    backbone: Backbone, weights: str | Path | None, input_size: int, include_top: bool = False
) -> tuple[keras.Model, WeightsOrigin]:
    """Build the stand-alone backbone with the requested weights.

    `weights` is "imagenet" (Keras' download or its `~/.keras/models` cache, falling back to a
    weights file shipped in `models/imagenet/`), a path to a weights file, or None for random init.
    """
    if weights is None or str(weights).lower() in ("none", "random"):
        return _random(backbone, input_size, include_top, None, "no weights were requested")
    if str(weights) != "imagenet":
        path = Path(weights)
        if not path.is_file():
            raise ChampyError(f"weights file not found: {path}")
        return _from_file(backbone, input_size, include_top, path, portable_path(path))
    try:
        model = _construct(backbone, input_size, include_top, "imagenet")
        return model, WeightsOrigin("imagenet", "keras-imagenet")
    except Exception as exc:  # no network, no cache, or an input size Keras has no weights for
        shipped = shipped_weights_file(backbone, include_top)
        if shipped is not None:
            log.info("Keras could not provide ImageNet weights (%s); using the shipped file %s", exc, shipped)
            return _from_file(backbone, input_size, include_top, shipped, "imagenet")
        return _random(backbone, input_size, include_top, "imagenet", f"Keras could not download them ({exc})")
