"""`create_model`: one factory for every backbone in the registry, with the study's head.

The result is ONE flat functional graph:

    image (RGB 0..255) -> augmentation (training only) -> pixel normalisation
    -> backbone layers, inlined -> GlobalAveragePooling -> Dense 1024 relu -> Dropout 0.2
    -> Dense 512 relu -> Dropout 0.2 -> Dense softmax ("species")

Inlining the backbone (rather than nesting it as a sub-model) keeps its last convolutional layer
reachable by name after an `.h5` reload, which Grad-CAM needs. Normalisation lives inside the
model as a fixed, non-trainable Dense layer over the channel axis, so every caller feeds plain RGB
pixels and the preprocessing can never drift from training.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from champy.models.registry import Backbone, get_backbone
from champy.models.weights import load_backbone

AUGMENTATION = {"rotation": 0.5, "zoom": 0.2, "brightness": 0.1, "flip": "horizontal_and_vertical"}
HEAD_UNITS = (1024, 512)
OUTPUT_NAME = "species"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406]) * 255.0
IMAGENET_STD = np.array([0.229, 0.224, 0.225]) * 255.0
CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68])


def normalisation_matrix(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Kernel and bias of the per-pixel affine map that normalises RGB 0..255 for `mode`."""
    if mode == "tf":
        return np.eye(3) / 127.5, -np.ones(3)
    if mode == "caffe":
        flip = np.eye(3)[::-1]  # RGB -> BGR
        return flip, -CAFFE_BGR_MEAN
    if mode == "torch":
        return np.diag(1.0 / IMAGENET_STD), -IMAGENET_MEAN / IMAGENET_STD
    return np.eye(3), np.zeros(3)


def augmentation_layers(seed: int | None = None) -> list[layers.Layer]:
    """The study's augmentation, as Keras preprocessing layers (active only when training)."""
    return [
        layers.RandomFlip(AUGMENTATION["flip"], seed=seed, name="augment_flip"),
        layers.RandomRotation(AUGMENTATION["rotation"], fill_mode="reflect", seed=seed, name="augment_rotation"),
        layers.RandomZoom(AUGMENTATION["zoom"], fill_mode="reflect", seed=seed, name="augment_zoom"),
        layers.RandomBrightness(
            AUGMENTATION["brightness"], value_range=(0.0, 255.0), seed=seed, name="augment_brightness"
        ),
    ]


def backbone_layers(model: keras.Model) -> list[layers.Layer]:
    """The flat model's backbone layers: everything between the normalisation and the head."""
    found = []
    for layer in model.layers:
        if layer.name == "pool":
            return found
        if layer.name != "normalise" and not layer.name.startswith("augment_"):
            found.append(layer)
    raise ValueError(f"{model.name} has no 'pool' layer: not a Champy classifier")


def copy_backbone_weights(source: keras.Model, target: keras.Model) -> int:
    """Copy weights layer by layer, in order, from a stand-alone backbone into the flat model.

    Layers are matched by position among the layers that hold weights (auto-generated names can
    differ between two instances), and every pair must agree on class and weight shapes.
    """
    source_layers = [layer for layer in source.layers if layer.weights]
    target_layers = [layer for layer in backbone_layers(target) if layer.weights]
    if len(source_layers) != len(target_layers):
        raise ValueError(f"backbone has {len(source_layers)} weighted layers, the model {len(target_layers)}")
    for src, dst in zip(source_layers, target_layers):
        shapes_src = [tuple(w.shape) for w in src.weights]
        shapes_dst = [tuple(w.shape) for w in dst.weights]
        if type(src) is not type(dst) or shapes_src != shapes_dst:
            raise ValueError(f"backbone layer mismatch: {src.name} {shapes_src} vs {dst.name} {shapes_dst}")
        dst.set_weights(src.get_weights())
    return len(source_layers)


def _build_graph(
    spec: Backbone, num_classes: int, size: int, augment: bool, dropout: float, seed: int | None
) -> keras.Model:
    image = keras.Input((size, size, 3), name="image")
    x = image
    if augment:
        for layer in augmentation_layers(seed):
            x = layer(x)
    if spec.preprocessing != "none":
        kernel, bias = normalisation_matrix(spec.preprocessing)
        normalise = layers.Dense(3, trainable=False, name="normalise")
        x = normalise(x)
        normalise.set_weights([kernel.astype("float32"), bias.astype("float32")])
    features = spec.constructor(include_top=False, weights=None, input_tensor=x).output
    x = layers.GlobalAveragePooling2D(name="pool")(features)
    for i, units in enumerate(HEAD_UNITS, start=1):
        x = layers.Dense(units, activation="relu", name=f"head_dense_{i}")(x)
        x = layers.Dropout(dropout, seed=seed, name=f"head_dropout_{i}")(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name=OUTPUT_NAME)(x)
    return keras.Model(image, outputs, name=f"champy_{spec.name}")


def create_model(
    backbone: str,
    num_classes: int,
    weights: str | None = "imagenet",
    input_size: int | None = None,
    augment: bool = True,
    dropout: float = 0.2,
    seed: int | None = None,
) -> keras.Model:
    """Build a classifier: `backbone` features + the study's head with `num_classes` outputs.

    The model is named `champy_<backbone>` and carries a `champy_weights` dict (where its initial
    weights came from, see `WeightsOrigin`) for the trainer and the model card.
    """
    spec = get_backbone(backbone)
    size = int(input_size or spec.input_size)
    pretrained, origin = load_backbone(spec, weights, size)
    model = _build_graph(spec, num_classes, size, augment, dropout, seed)
    copy_backbone_weights(pretrained, model)
    model.champy_weights = origin.to_dict()
    return model


def backbone_name(model: keras.Model) -> str:
    """The registry name of a Champy model's backbone (models are named `champy_<backbone>`)."""
    if not model.name.startswith("champy_"):
        raise ValueError(f"{model.name} is not a Champy model")
    return model.name.removeprefix("champy_")


def inference_model(model: keras.Model) -> keras.Model:
    """The same network without its augmentation layers: what Champy ships and serves.

    Augmentation is the identity at inference, and Keras' `.h5` writer cannot serialise every
    augmentation layer, so the shipped graph leaves them out. Weights are copied in layer order.
    """
    spec = get_backbone(backbone_name(model))
    size = int(model.input_shape[1])
    num_classes = int(model.output_shape[-1])
    dropout = model.get_layer("head_dropout_1").rate
    clean = _build_graph(spec, num_classes, size, augment=False, dropout=dropout, seed=None)
    source = [layer for layer in model.layers if layer.weights]
    target = [layer for layer in clean.layers if layer.weights]
    for src, dst in zip(source, target, strict=True):
        dst.set_weights(src.get_weights())
    return clean


def set_backbone_trainable(model: keras.Model, finetune_after: str | None) -> None:
    """Freeze the backbone (None) or unfreeze every backbone layer after `finetune_after`.

    BatchNormalization layers stay frozen in both phases, so they keep running in inference mode
    with their pretrained statistics (the usual Keras fine-tuning recipe).
    """
    unfrozen = False
    for layer in backbone_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False
        elif layer.weights:
            layer.trainable = unfrozen
        if finetune_after is not None and layer.name == finetune_after:
            unfrozen = True
