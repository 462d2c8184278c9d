"""The backbone registry: every network Champy can train, with what it needs to know about each.

An entry names the Keras constructor, the input size, how pixels are normalised, the last
convolutional layer (for Grad-CAM) and the first layer unfrozen in the fine-tuning phase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras

from champy.errors import ChampyError

# Pixel normalisation modes, named after keras.applications' `preprocess_input` modes:
#   "tf":    RGB 0..255 -> [-1, 1]
#   "caffe": RGB -> BGR, minus the ImageNet BGR mean
#   "torch": RGB 0..1, minus the ImageNet mean, divided by its std
#   "none":  the backbone normalises inside itself (Keras EfficientNets)
PREPROCESSING_MODES = ("tf", "caffe", "torch", "none")


@dataclass(frozen=True)
class Backbone:
    """What the factory needs to build, fine-tune and explain one backbone."""

    name: str
    constructor: Callable[..., keras.Model]
    input_size: int
    preprocessing: str
    last_conv_layer: str
    finetune_after: str
    """The last layer kept frozen when the top blocks are fine-tuned."""
    local_weights: dict[str, str] = field(default_factory=dict)
    """Weights files shipped in `models/imagenet/`, keyed by "notop" / "top"."""

    def __post_init__(self) -> None:
        if self.preprocessing not in PREPROCESSING_MODES:
            raise ValueError(f"unknown preprocessing mode {self.preprocessing!r}")


REGISTRY: dict[str, Backbone] = {}


def register(backbone: Backbone) -> Backbone:
    """Add a backbone to the registry (names are unique)."""
    if backbone.name in REGISTRY:
        raise ValueError(f"backbone {backbone.name!r} is already registered")
    REGISTRY[backbone.name] = backbone
    return backbone


def get_backbone(name: str) -> Backbone:
    """The registry entry for `name`, or a clear error listing what exists."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ChampyError(f"unknown backbone {name!r}; choose one of: {', '.join(sorted(REGISTRY))}") from None


def list_backbones() -> list[str]:
    """Names of every registered backbone."""
    return sorted(REGISTRY)


apps = keras.applications
register(Backbone("vgg16", apps.VGG16, 224, "caffe", "block5_conv3", "block4_pool"))
register(Backbone("vgg19", apps.VGG19, 224, "caffe", "block5_conv4", "block4_pool"))
register(Backbone("resnet50", apps.ResNet50, 224, "caffe", "conv5_block3_out", "conv4_block6_out"))
register(Backbone("inception_v3", apps.InceptionV3, 299, "tf", "mixed10", "mixed8"))
register(Backbone("efficientnet_b0", apps.EfficientNetB0, 224, "none", "top_activation", "block6d_add"))
register(Backbone("efficientnetv2_b0", apps.EfficientNetV2B0, 224, "none", "top_activation", "block6e_add"))
register(
    Backbone(
        "mobilenet_v2",
        apps.MobileNetV2,
        224,
        "tf",
        "out_relu",
        "block_13_project_BN",
        local_weights={
            "notop": "mobilenet_v2_1.0_224_imagenet_notop.weights.h5",
            "top": "mobilenet_v2_1.0_224_imagenet.weights.h5",
        },
    )
)

from champy.models.efficientnet_lite import NOTOP_WEIGHTS, TOP_WEIGHTS, EfficientNetLite0  # noqa: E402

register(
    Backbone(
        "efficientnet_lite0",
        EfficientNetLite0,
        224,
        "none",  # the network normalises inside itself: (x - 127) / 128, as it was trained
        "top_activation",
        "block6d_add",
        local_weights={"notop": NOTOP_WEIGHTS, "top": TOP_WEIGHTS},
    )
)

from champy.models.efficientnet_lite import LITE1, LITE2, EfficientNetLite1, EfficientNetLite2  # noqa: E402

for _variant, _constructor in ((LITE1, EfficientNetLite1), (LITE2, EfficientNetLite2)):
    # Only the notop file ships (models/imagenet/EFFICIENTNET_LITE1_LITE2.md): all a species model and its gate need.
    register(
        Backbone(
            _variant.name,
            _constructor,
            _variant.size,
            "none",
            "top_activation",
            _variant.finetune_after,
            local_weights={"notop": _variant.notop_weights},
        )
    )
