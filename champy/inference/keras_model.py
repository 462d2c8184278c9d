"""A Champy model run in TensorFlow: training's view of a shipped network, the reference the LiteRT path is tested
against, the compiler of its compiled form, and the fallback for a model that cannot be compiled.

`KerasModel` computes what `ChampyModel` does from the Keras graph: the species probabilities, the pooled ImageNet
features the mushroom gate reads and the last convolutional maps in one `tf.function` (or compiled for the CPU once
`compile` has run), and Grad-CAM from the head's gradient (`tf.GradientTape`). When the model's frozen trunk
(everything up to its backbone's fine-tuning boundary) still holds the ImageNet weights of a backbone with a shipped
gate (MobileNetV2, EfficientNet-Lite0...), the gate's ImageNet layers branch off that shared trunk; otherwise the
ImageNet MobileNetV2 runs beside the model on the same pixels. Importing this module imports TensorFlow.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from champy.native_output import import_tensorflow_quietly

import_tensorflow_quietly()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from champy.inference.compiled import Compiled, compile_forward, load_compiled, model_digest  # noqa: E402
from champy.inference.gate import (  # noqa: E402
    DEFAULT_GATE_BACKBONE,
    GATE_INPUT_SIZE,
    gate_input_size,
    gate_network,
    has_gate,
    imagenet_input,
)
from champy.inference.head import ACTIVATIONS  # noqa: E402
from champy.inference.model import ChampyModel, refuse_unloadable, resolve_model_path  # noqa: E402
from champy.models.card import ENSEMBLE_SUFFIX, card_path, read_card  # noqa: E402
from champy.models.registry import get_backbone  # noqa: E402
from champy.models.storage import load_keras_model  # noqa: E402


def _shares_imagenet_trunk(model: keras.Model, backbone: str, boundary: str) -> bool:
    """True when every layer up to the fine-tuning `boundary` holds the backbone's ImageNet weights."""
    if not has_gate(backbone) or int(model.input_shape[1]) != gate_input_size(backbone):
        return False
    for layer in gate_network(backbone).layers:
        if layer.weights:
            try:
                mine = model.get_layer(layer.name).get_weights()
            except ValueError:
                return False
            if any(not np.array_equal(a, b) for a, b in zip(mine, layer.get_weights())):
                return False
        if layer.name == boundary:
            return True
    return False


def head_arrays(model: keras.Model, conv_name: str) -> dict[str, np.ndarray]:
    """The dense weights of the head after layer `conv_name` (see `champy.inference.head.DenseHead`); `ValueError`
    unless it is global average pooling, then dense layers (and dropout) one after the other."""
    layers = model.layers[[layer.name for layer in model.layers].index(conv_name) + 1 :]
    kernels, biases, activations = [], [], []
    previous = conv_name
    for layer in layers:
        if layer.input._keras_history.operation.name != previous:
            raise ValueError(f"the head is not one chain of layers after {conv_name} ({layer.name})")
        previous = layer.name
        if isinstance(layer, keras.layers.Dense) and layer.activation.__name__ in ACTIVATIONS:
            kernel, bias = layer.get_weights()
            kernels.append(kernel)
            biases.append(bias)
            activations.append(layer.activation.__name__)
        elif not isinstance(layer, keras.layers.Dropout) and not (
            isinstance(layer, keras.layers.GlobalAveragePooling2D) and not kernels
        ):
            raise ValueError(f"no Grad-CAM without TensorFlow through a {type(layer).__name__} layer ({layer.name})")
    if previous != model.output._keras_history.operation.name:
        raise ValueError("the head does not end in the model's output")
    arrays = {f"kernel_{i}": kernel for i, kernel in enumerate(kernels)}
    arrays.update({f"bias_{i}": bias for i, bias in enumerate(biases)}, activations=np.asarray(activations))
    return arrays


class KerasModel(ChampyModel):
    """A shipped single network run in TensorFlow (`load_tensorflow_model`), optionally with its forward pass
    compiled for the CPU (`compile`)."""

    def __init__(self, path: Path, keras_model: keras.Model, card: dict) -> None:
        super().__init__(path, card, None)
        self.keras_model = keras_model
        self.conv_name = card.get("last_conv_layer") or get_backbone(self.backbone).last_conv_layer
        self.boundary = card.get("finetune_after") or get_backbone(self.backbone).finetune_after
        self.shares_gate_trunk = _shares_imagenet_trunk(keras_model, self.backbone, self.boundary)
        embedding_size = int(keras_model.get_layer(self.conv_name).output.shape[-1])  # the last maps' channels
        self._configure(self.backbone if self.shares_gate_trunk else DEFAULT_GATE_BACKBONE, embedding_size)
        self._build()
        self._compiling = threading.Lock()
        self.compile(build=False)  # a compiled form already in the cache is used at once

    @classmethod
    def load(cls, path: Path) -> KerasModel:
        """The network in `path` (`.h5` or `.keras`) with its card."""
        keras_model = load_keras_model(path)
        return cls(path, keras_model, read_card(card_path(path), num_outputs=int(keras_model.output_shape[-1])))

    def _build(self) -> None:
        model = self.keras_model
        conv = model.get_layer(self.conv_name).output
        imagenet = gate_network(self.gate_backbone)
        if self.shares_gate_trunk:
            trunk = model.get_layer(self.boundary).output
            self._trunk = keras.Model(model.input, trunk)
            self._to_conv = keras.Model(trunk, conv)
            self._gate = keras.Model(imagenet.get_layer(self.boundary).output, imagenet.output)
        else:
            self._trunk = None
            self._to_conv = keras.Model(model.input, conv)
            self._gate = imagenet
        self._head = keras.Model(conv, model.output)

        @tf.function(input_signature=[tf.TensorSpec([None, self.size, self.size, 3], tf.float32)])
        def forward(pixels: tf.Tensor):
            if self._trunk is not None:
                shared = self._trunk(pixels, training=False)
                maps, gate_features = self._to_conv(shared, training=False), self._gate(shared, training=False)
            else:
                gate_pixels = (
                    pixels
                    if self.size == GATE_INPUT_SIZE
                    else tf.image.resize(pixels, (GATE_INPUT_SIZE, GATE_INPUT_SIZE))
                )
                gate_features = self._gate(imagenet_input(gate_pixels, self.gate_backbone), training=False)
                maps = self._to_conv(pixels, training=False)
            return maps, tf.concat([gate_features, self._head(maps, training=False)], axis=-1)  # one vector each

        @tf.function(reduce_retracing=True)
        def grad_cam(maps: tf.Tensor, class_index: tf.Tensor):
            with tf.GradientTape() as tape:
                tape.watch(maps)
                score = tf.gather(self._head(maps, training=False), class_index, axis=-1, batch_dims=1)
            weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(maps * weights, axis=-1))
            return cam / (tf.reduce_max(cam, axis=(1, 2), keepdims=True) + 1e-8)

        self._forward = forward
        self._tf_grad_cam = grad_cam

    def _build_compiled(self) -> tuple[bytes, dict[str, np.ndarray]]:
        """The compiled forward pass and the head file's arrays (see `champy.inference.compiled.Build`)."""
        arrays = head_arrays(self.keras_model, self.conv_name)
        arrays.update(
            gate_backbone=np.asarray(self.gate_backbone),
            gate_weights=np.asarray(get_backbone(self.gate_backbone).local_weights["notop"]),
            params=np.asarray(self.count_params()),
        )
        return compile_forward(self._forward, self.keras_model), arrays

    def compile(self, enabled: bool = True, build: bool = True) -> bool:
        """Run the forward pass compiled for the CPU (`champy.inference.compiled`), building and caching it first
        unless `build` is False (then only a cached one is used); with `enabled` False, run it in TensorFlow again.
        Returns whether the compiled pass is in use. Grad-CAM stays in TensorFlow. Other threads may identify
        meanwhile (in TensorFlow until the compiled pass is ready)."""
        if not enabled:
            self._compiled = None
            return False
        with self._compiling:
            if self._compiled is None:
                self._compiled = load_compiled(
                    self.name, model_digest(self.path), self._build_compiled if build else None
                )
        return self._compiled is not None

    @property
    def compiled_form(self) -> Compiled | None:
        """The compiled form in use (what `ChampyModel` runs without TensorFlow), None before `compile`."""
        return self._compiled

    def _pass(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._compiled is not None:
            return self._compiled.forward(batch)
        return tuple(t.numpy() for t in self._forward(tf.convert_to_tensor(batch)))

    def _grad_cam(self, maps: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        return self._tf_grad_cam(tf.convert_to_tensor(maps), tf.convert_to_tensor(chosen, tf.int32)).numpy()

    def count_params(self) -> int:
        return int(self.keras_model.count_params())

    def forward(self, pixels: np.ndarray) -> np.ndarray:
        """One bare forward pass of the Keras graph (the benchmark's reference)."""
        return self.keras_model(tf.convert_to_tensor(pixels, tf.float32), training=False).numpy()


@lru_cache(maxsize=8)
def _load(path: Path):
    refuse_unloadable(path)
    if path.name.endswith(ENSEMBLE_SUFFIX):
        from champy.inference.ensemble import EnsembleModel

        return EnsembleModel(path, read_card(path), load_tensorflow_model)
    return KerasModel.load(path)


def load_tensorflow_model(name_or_path: str | Path):
    """A model run in TensorFlow, loaded once per process (an ensemble's members too): what `load_model` answers
    with, without TensorFlow, once the model is compiled."""
    return _load(Path(os.path.abspath(resolve_model_path(name_or_path))))  # a link is checked as named
