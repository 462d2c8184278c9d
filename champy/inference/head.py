"""A species model's head in NumPy: Grad-CAM from the last convolutional maps without TensorFlow.

Every Champy head is global average pooling, then dense layers (ReLU, softmax last; dropout does nothing at
inference). The gradient of a class's probability on the maps is then the same for every position: the backward
pass of the dense layers, divided by the number of positions. `grad_cam` computes exactly what
`KerasModel`'s `tf.GradientTape` does (the gradient averaged over space weighs the maps, ReLU, scaled to a maximum
of 1), so the two agree to float rounding (`tests/test_lite.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("relu", "linear", "softmax")
"""The dense layers' activations the head can run; softmax only on the last."""


@dataclass(frozen=True)
class DenseHead:
    """Global average pooling, then dense layers: `kernels[i]` (inputs, units), `biases[i]`, `activations[i]`."""

    kernels: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activations: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.kernels or not len(self.kernels) == len(self.biases) == len(self.activations):
            raise ValueError("a head needs one kernel, bias and activation per dense layer")
        if self.activations[-1] != "softmax" or any(a not in ACTIVATIONS[:2] for a in self.activations[:-1]):
            raise ValueError(f"unsupported head activations {self.activations}")

    @property
    def classes(self) -> int:
        """The number of outputs."""
        return int(self.kernels[-1].shape[1])

    def grad_cam(self, maps: np.ndarray, class_index: np.ndarray) -> np.ndarray:
        """Grad-CAM maps (batch, height, width) in [0, 1] of `class_index[i]`'s probability for each photo's maps
        (batch, height, width, channels)."""
        maps = np.asarray(maps, np.float32)
        positions = maps.shape[1] * maps.shape[2]
        values, outputs = [maps.mean(axis=(1, 2))], []
        for kernel, bias, activation in zip(self.kernels, self.biases, self.activations):
            # einsum's own loops, not BLAS: OpenBLAS's threads take 8 ms instead of 0.2 for a one-row product on two
            # busy cores (what a server shares with its forward passes)
            outputs.append(np.einsum("bi,ij->bj", values[-1], kernel) + bias)
            values.append(np.maximum(outputs[-1], 0.0) if activation == "relu" else outputs[-1])
        logits = outputs[-1] - outputs[-1].max(axis=1, keepdims=True)
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        rows = np.arange(len(maps))
        chosen = probs[rows, class_index]
        gradient = -chosen[:, None] * probs  # d p_k / d logits = p_k (onehot_k - p)
        gradient[rows, class_index] += chosen
        for layer in range(len(self.kernels) - 1, -1, -1):
            gradient = np.einsum("bj,ij->bi", gradient, self.kernels[layer])
            if layer and self.activations[layer - 1] == "relu":
                gradient = gradient * (outputs[layer - 1] > 0)
        weights = (gradient / positions)[:, None, None, :]  # the gradient on each map position, averaged over space
        cam = np.maximum((maps * weights).sum(axis=-1), 0.0)
        return (cam / (cam.max(axis=(1, 2), keepdims=True) + 1e-8)).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """The head as named arrays (what `from_arrays` reads back)."""
        named = {"activations": np.asarray(self.activations)}
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            named[f"kernel_{i}"], named[f"bias_{i}"] = kernel, bias
        return named

    @classmethod
    def from_arrays(cls, named: dict[str, np.ndarray]) -> DenseHead:
        """The head saved by `arrays`."""
        activations = tuple(str(a) for a in named["activations"])
        kernels = tuple(np.asarray(named[f"kernel_{i}"], np.float32) for i in range(len(activations)))
        biases = tuple(np.asarray(named[f"bias_{i}"], np.float32) for i in range(len(activations)))
        return cls(kernels, biases, activations)
