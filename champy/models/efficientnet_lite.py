"""EfficientNet-Lite0, Lite1 and Lite2 as Keras applications: the mobile variants of EfficientNet.

Lite0 differs from B0 in three ways: no squeeze-and-excite, ReLU6 instead of swish, and a stem
(32 filters) and head (1280 filters) that are never rescaled. Lite1 (240 px) and Lite2 (260 px)
scale Lite0's widths and depths as EfficientNet-B1/B2 do, except that the first and last stages keep
their single block. ImageNet weights come from `python -m champy convert-lite0` (`convert-lite1`,
`convert-lite2`; see `champy/models/convert_lite.py` and `models/imagenet/EFFICIENTNET_LITE*.md`).

Every convolution pads like TensorFlow's "SAME", as the original network (trained in TensorFlow)
does: stride-1 convolutions use `padding="same"`, and stride-2 ones an explicit ZeroPadding2D,
which puts the odd extra pixel at the bottom/right, followed by a "valid" convolution.
The network normalises its own input (RGB 0..255 -> (x - 127) / 128, the Lite training recipe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
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


FILTER_DIVISOR = 8


def round_filters(filters: int, width: float) -> int:
    """EfficientNet's width scaling: the nearest multiple of 8, never more than 10 % below `filters * width`."""
    scaled = filters * width
    rounded = max(FILTER_DIVISOR, int(scaled + FILTER_DIVISOR / 2) // FILTER_DIVISOR * FILTER_DIVISOR)
    return int(rounded + FILTER_DIVISOR if rounded < 0.9 * scaled else rounded)


@dataclass(frozen=True)
class LiteVariant:
    """One EfficientNet-Lite size: width and depth multipliers over Lite0, and its input resolution."""

    name: str
    width: float
    depth: float
    size: int

    @property
    def stages(self) -> tuple[Stage, ...]:
        """Lite0's stages scaled: every width, and the depth of all but the first and last stage."""
        last = len(LITE0_STAGES) - 1
        return tuple(
            replace(
                stage,
                filters=round_filters(stage.filters, self.width),
                repeats=stage.repeats if i in (0, last) else math.ceil(stage.repeats * self.depth),
            )
            for i, stage in enumerate(LITE0_STAGES)
        )

    @property
    def top_weights(self) -> str:
        """The converted ImageNet weights file (with the classifier), shipped in `models/imagenet/`."""
        return f"{self.name}_imagenet.weights.h5"

    @property
    def notop_weights(self) -> str:
        """The converted ImageNet weights file without the classifier."""
        return f"{self.name}_imagenet_notop.weights.h5"

    @property
    def head_weights(self) -> str:
        """The ImageNet classifier alone (kernel and bias, `.npz`): with the notop file, the whole network."""
        return f"{self.name}_imagenet_head.npz"

    @property
    def finetune_after(self) -> str:
        """The last block of the sixth stage: fine-tuning unfreezes what follows (the seventh stage and the head)."""
        return block_names(self.stages)[-2] + "_add"


LITE0 = LiteVariant("efficientnet_lite0", 1.0, 1.0, 224)
LITE1 = LiteVariant("efficientnet_lite1", 1.0, 1.1, 240)
LITE2 = LiteVariant("efficientnet_lite2", 1.1, 1.2, 260)
LITE_VARIANTS = {variant.name: variant for variant in (LITE0, LITE1, LITE2)}
TOP_WEIGHTS = LITE0.top_weights
NOTOP_WEIGHTS = LITE0.notop_weights


def block_names(stages: tuple[Stage, ...] = LITE0_STAGES) -> list[str]:
    """Names of the blocks in order ("block1a", "block2a", "block2b", ...), as layer-name prefixes."""
    return [f"block{s}{ascii_lowercase[r]}" for s, stage in enumerate(stages, 1) for r in range(stage.repeats)]


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


def EfficientNetLite(
    variant: LiteVariant,
    include_top: bool = True,
    weights: str | None = None,
    input_tensor=None,
    input_shape: tuple[int | None, int | None, int] | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: str | None = "softmax",
    include_preprocessing: bool = True,
    name: str | None = None,
) -> keras.Model:
    """Build an EfficientNet-Lite `variant` with the keras.applications signature.

    `weights` is None (random init) or the path of a Keras weights file, e.g. one written by
    `python -m champy convert-lite0`. Keras has no download for this network, so "imagenet" is
    refused here; Champy's weights loader then falls back to the file in `models/imagenet/`.
    With `include_preprocessing` the model takes RGB 0..255; without it, (x - 127) / 128.
    """
    if weights == "imagenet":
        raise ValueError(
            f"Keras has no ImageNet download for {variant.name}; pass the path of a converted weights file"
        )
    if include_top and weights is not None and classes != 1000:
        raise ValueError("pretrained weights with include_top need classes=1000")
    if input_shape is None:
        input_shape = (variant.size, variant.size, 3) if include_top else (None, None, 3)
    image = _input(input_tensor, input_shape)

    x = image
    if include_preprocessing:
        x = layers.Rescaling(1.0 / INPUT_STD, offset=-INPUT_MEAN / INPUT_STD, name="rescaling")(x)
    x = _strided(x, 3, "stem_conv")
    x = layers.Conv2D(STEM_FILTERS, 3, 2, padding="valid", use_bias=False, name="stem_conv")(x)
    x = _batch_norm(x, "stem_bn")
    x = _relu6(x, "stem_activation")

    names = iter(block_names(variant.stages))
    filters_in = STEM_FILTERS
    for stage in variant.stages:
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
    model = keras.Model(inputs, x, name=name or variant.name)
    if weights is not None:
        model.load_weights(weights)
    return model


def EfficientNetLite0(**kwargs) -> keras.Model:
    """EfficientNet-Lite0 (224 px); see `EfficientNetLite` for the arguments."""
    return EfficientNetLite(LITE0, **kwargs)


def EfficientNetLite1(**kwargs) -> keras.Model:
    """EfficientNet-Lite1 (240 px, depth x1.1); see `EfficientNetLite` for the arguments."""
    return EfficientNetLite(LITE1, **kwargs)


def EfficientNetLite2(**kwargs) -> keras.Model:
    """EfficientNet-Lite2 (260 px, width x1.1, depth x1.2); see `EfficientNetLite` for the arguments."""
    return EfficientNetLite(LITE2, **kwargs)
