"""EfficientNet-Lite0 as a Keras application: the mobile variant of EfficientNet-B0.

Lite0 differs from B0 in three ways: no squeeze-and-excite, ReLU6 instead of swish, and a stem
(32 filters) and head (1280 filters) that are never rescaled. Its ImageNet weights come from
`python -m champy convert-lite0` (see `champy/models/convert_lite.py` and
`models/imagenet/EFFICIENTNET_LITE0.md`).

Every convolution pads like TensorFlow's "SAME", as the original network (trained in TensorFlow)
does: stride-1 convolutions use `padding="same"`, and stride-2 ones an explicit ZeroPadding2D,
which puts the odd extra pixel at the bottom/right, followed by a "valid" convolution.
The network normalises its own input (RGB 0..255 -> (x - 127) / 128, the Lite training recipe).
"""

from __future__ import annotations

from dataclasses import dataclass
from string import ascii_lowercase

import keras
from keras import layers

STEM_FILTERS = 32
HEAD_FILTERS = 1280
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
INPUT_MEAN = 127.0
INPUT_STD = 128.0
TOP_DROPOUT = 0.2
DEFAULT_SIZE = 224
TOP_WEIGHTS = "efficientnet_lite0_imagenet.weights.h5"
NOTOP_WEIGHTS = "efficientnet_lite0_imagenet_notop.weights.h5"
"""The converted ImageNet weights files, shipped in `models/imagenet/`."""


@dataclass(frozen=True)
class Stage:
    """A run of inverted-residual (MBConv) blocks; only the first block strides."""

    repeats: int
    kernel: int
    stride: int
    expand_ratio: int
    filters: int


LITE0_STAGES = (
    Stage(1, 3, 1, 1, 16),
    Stage(2, 3, 2, 6, 24),
    Stage(2, 5, 2, 6, 40),
    Stage(3, 3, 2, 6, 80),
    Stage(3, 5, 1, 6, 112),
    Stage(4, 5, 2, 6, 192),
    Stage(1, 3, 1, 6, 320),
)


def block_names() -> list[str]:
    """Names of the blocks in order ("block1a", "block2a", "block2b", ...), as layer-name prefixes."""
    return [f"block{s}{ascii_lowercase[r]}" for s, stage in enumerate(LITE0_STAGES, 1) for r in range(stage.repeats)]


def same_padding(size: int | None, kernel: int) -> tuple[int, int]:
    """(before, after) padding of one axis that makes a stride-2 convolution match TF "SAME".

    SAME pads `kernel - 2` pixels in total on an even axis and `kernel - 1` on an odd one, with
    the extra pixel after. An unknown size is taken as even (every stride-2 input is even when
    the image side is a multiple of 32).
    """
    total = kernel - 1 if size is not None and size % 2 else kernel - 2
    return total // 2, total - total // 2


def _batch_norm(x, name: str):
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=name)(x)


def _relu6(x, name: str):
    return layers.ReLU(6.0, name=name)(x)


def _strided(x, kernel: int, name: str):
    """Pad `x` for a stride-2 "valid" convolution so that it matches TF "SAME"."""
    height, width = x.shape[1], x.shape[2]
    padding = (same_padding(height, kernel), same_padding(width, kernel))
    return layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)


def _mbconv(x, filters_in: int, stage: Stage, stride: int, name: str):
    """Expand 1x1 -> depthwise kxk -> project 1x1, with a residual when shapes allow."""
    inputs = x
    channels = filters_in * stage.expand_ratio
    if stage.expand_ratio != 1:
        x = layers.Conv2D(channels, 1, padding="same", use_bias=False, name=f"{name}_expand_conv")(x)
        x = _batch_norm(x, f"{name}_expand_bn")
        x = _relu6(x, f"{name}_expand_activation")
    padding = "same"
    if stride == 2:
        x = _strided(x, stage.kernel, f"{name}_dwconv")
        padding = "valid"
    x = layers.DepthwiseConv2D(stage.kernel, stride, padding=padding, use_bias=False, name=f"{name}_dwconv")(x)
    x = _batch_norm(x, f"{name}_bn")
    x = _relu6(x, f"{name}_activation")
    x = layers.Conv2D(stage.filters, 1, padding="same", use_bias=False, name=f"{name}_project_conv")(x)
    x = _batch_norm(x, f"{name}_project_bn")
    if stride == 1 and filters_in == stage.filters:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def _input(input_tensor, input_shape):
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if keras.backend.is_keras_tensor(input_tensor):
        return input_tensor
    return layers.Input(tensor=input_tensor, shape=input_shape)


def EfficientNetLite0(
    include_top: bool = True,
    weights: str | None = None,
    input_tensor=None,
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    include_preprocessing: bool = True,
    name: str = "efficientnet_lite0",
) -> keras.Model:
    """Build EfficientNet-Lite0 with the keras.applications signature.

    `weights` is None (random init) or the path of a Keras weights file, e.g. one written by
    `python -m champy convert-lite0`. Keras has no download for this network, so "imagenet" is
    refused here; Champy's weights loader then falls back to the file in `models/imagenet/`.
    With `include_preprocessing` the model takes RGB 0..255; without it, (x - 127) / 128.
    """
    if weights == "imagenet":
        raise ValueError("Keras has no ImageNet download for EfficientNet-Lite0; pass the path of a converted weights file")
    if include_top and weights is not None and classes != 1000:
        raise ValueError("pretrained weights with include_top need classes=1000")
    if input_shape is None:
        input_shape = (DEFAULT_SIZE, DEFAULT_SIZE, 3) if include_top else (None, None, 3)
    image = _input(input_tensor, input_shape)

    x = image
    if include_preprocessing:
        x = layers.Rescaling(1.0 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD, name="rescaling")(x)
    x = _strided(x, 3, "stem_conv")
    x = layers.Conv2D(STEM_FILTERS, 3, 2, padding="valid", use_bias=False, name="stem_conv")(x)
    x = _batch_norm(x, "stem_bn")
    x = _relu6(x, "stem_activation")

    names = iter(block_names())
    filters_in = STEM_FILTERS
    for stage in LITE0_STAGES:
        for repeat in range(stage.repeats):
            x = _mbconv(x, filters_in, stage, stage.stride if repeat == 0 else 1, next(names))
            filters_in = stage.filters

    x = layers.Conv2D(HEAD_FILTERS, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _batch_norm(x, "top_bn")
    x = _relu6(x, "top_activation")

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(TOP_DROPOUT, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)

    inputs = keras.utils.get_source_inputs(input_tensor) if input_tensor is not None else image
    model = keras.Model(inputs, x, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model
