"""A loaded Champy model: the Keras graph, its card, and one forward pass per batch of photos.

`ChampyModel.run` computes, in ONE forward pass, the species probabilities, the pooled ImageNet features the
mushroom gate reads and the last convolutional maps (in TensorFlow, or compiled for the CPU once `compile` has run,
see `champy.inference.compiled`), then the Grad-CAM map of the chosen class from the head's gradient on those maps.
When the model's frozen trunk (everything up to its
backbone's fine-tuning boundary) still holds the ImageNet weights of a backbone with a shipped gate
(MobileNetV2, EfficientNet-Lite0), the gate's ImageNet layers branch off that shared trunk;
otherwise the ImageNet MobileNetV2 runs beside the model on the same pixels.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from champy.errors import ChampyError, ModelLoadError
from champy.image_batch import load_images
from champy.images import to_model_input
from champy.inference.compiled import CompiledForward, build_digest, compile_forward, load_compiled
from champy.inference.gate import (
    DEFAULT_GATE_BACKBONE,
    GATE_INPUT_SIZE,
    gate_input_size,
    gate_network,
    has_gate,
    imagenet_input,
    load_gate,
)
from champy.models.card import ENSEMBLE_SUFFIX, card_path, model_name, read_card
from champy.models.registry import get_backbone
from champy.models.storage import MODEL_SUFFIXES, check_h5, load_keras_model
from champy.path_kind import file_problem
from champy.paths import DEFAULT_MODEL, IMAGENET_WEIGHTS_DIR, MODELS_DIR
from champy.safety.profile import SafetyProfile, profile_path, read_profile
from champy.safety.risk import Risk, assess_risk

log = logging.getLogger(__name__)
MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
"""How an ensemble card names a member: a model name in `models/`, never a path."""


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


def matching_profile(path: Path, card: dict, embedding_size: int) -> SafetyProfile | None:
    """The model's safety profile, or None (risk never "low") when it is missing, unreadable, incomplete or another
    model's (its look-alike bank of embeddings of another size than `embedding_size` included)."""
    try:
        profile = read_profile(profile_path(path))
    except ChampyError as exc:
        log.warning("ignoring a safety profile: %s", exc)
        return None
    reason = profile.mismatch(card, embedding_size) if profile else None
    if reason:
        log.warning("ignoring the safety profile of %s: %s (refit it with champy fit-safety)", model_name(path), reason)
        return None
    return profile


@dataclass(frozen=True)
class Outputs:
    """One pass over a batch of photos: class probabilities (before the model's temperature), the gate's ImageNet
    features, Grad-CAM maps, embeddings and, for an ensemble, each member's calibrated probabilities."""

    probs: np.ndarray
    gate_features: np.ndarray
    cams: np.ndarray
    embeddings: np.ndarray
    members: np.ndarray | None = None
    parts: tuple[Outputs, ...] = ()
    """An ensemble's members' own outputs, in member order."""


class ChampyModel:
    """A shipped model ready for inference (load it with `load_model`)."""

    def __init__(self, path: Path, keras_model: keras.Model, card: dict) -> None:
        self.path = path
        self.name = model_name(path)
        self.keras_model = keras_model
        self.card = card
        self.labels: list[dict] = card["labels"]
        self.size = int(card["input"]["size"])
        self.other_index: int | None = card.get("other_index")
        self.temperature = float(card.get("calibration", {}).get("temperature", 1.0))
        self.unknown_threshold = float(card.get("open_set", {}).get("unknown_threshold", 0.0))
        self.open_set_score: str = card.get("open_set", {}).get("score", "known_confidence")
        self.backbone = card["backbone"]
        conv_name = card.get("last_conv_layer") or get_backbone(self.backbone).last_conv_layer
        self.boundary = card.get("finetune_after") or get_backbone(self.backbone).finetune_after
        self.shares_gate_trunk = _shares_imagenet_trunk(keras_model, self.backbone, self.boundary)
        self.gate_backbone = self.backbone if self.shares_gate_trunk else DEFAULT_GATE_BACKBONE
        self.gate = load_gate(self.gate_backbone)
        self.embedding_size = int(keras_model.get_layer(conv_name).output.shape[-1])  # the last maps' channels
        self.safety = matching_profile(path, card, self.embedding_size)
        self._build(conv_name)
        self._lock = threading.Lock()
        self._compiling = threading.Lock()
        self._compiled: CompiledForward | None = None
        self.compile(build=False)  # compiled layers already in the cache are used at once

    def _build(self, conv_name: str) -> None:
        model = self.keras_model
        conv = model.get_layer(conv_name).output
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
        self._grad_cam = grad_cam

    def _build_digest(self) -> str:
        """What the compiled pass is built from: the network, its card and the gate's ImageNet weights."""
        notop = get_backbone(self.gate_backbone).local_weights["notop"]
        return build_digest([self.path, card_path(self.path), IMAGENET_WEIGHTS_DIR / notop])

    def compile(self, enabled: bool = True, build: bool = True) -> bool:
        """Run the forward pass compiled for the CPU (`champy.inference.compiled`), building and caching it first
        unless `build` is False (then only a cached one is used); with `enabled` False, run it in TensorFlow again.
        Returns whether the compiled pass is in use. Other threads may identify meanwhile (in TensorFlow until the
        compiled pass is ready)."""
        if not enabled:
            self._compiled = None
            return False
        with self._compiling:
            if self._compiled is None:
                build_it = (lambda: compile_forward(self._forward, self.keras_model)) if build else None
                self._compiled = load_compiled(self.name, self._build_digest(), build_it)
        return self._compiled is not None

    @property
    def compiled(self) -> bool:
        """Whether the forward pass runs compiled for the CPU (see `compile`)."""
        return self._compiled is not None

    def run(
        self, pixels: np.ndarray, class_index: int | None = None, explain: bool = True, with_features: bool = False
    ):
        """Species probabilities, the gate's pooled ImageNet features and Grad-CAM maps (of `class_index`, else of
        each photo's most probable class; zeros without `explain`) for a batch of pixels.

        With `with_features`, also the photo's embedding: the last convolutional maps averaged over space and
        L2-normalised (what the look-alike similarity compares).
        """
        batch = np.asarray(pixels, np.float32)
        with self._lock:
            if self._compiled is not None:
                maps, vectors = self._compiled(batch)
            else:
                maps, vectors = (t.numpy() for t in self._forward(tf.convert_to_tensor(batch)))
            gate_features, probs = vectors[:, : -len(self.labels)], vectors[:, -len(self.labels) :]
            if explain:
                chosen = probs.argmax(axis=-1) if class_index is None else np.full(len(batch), class_index)
                cam = self._grad_cam(tf.convert_to_tensor(maps), tf.convert_to_tensor(chosen, tf.int32)).numpy()
            else:
                cam = np.zeros(maps.shape[:3], np.float32)
        if not with_features:
            return probs, gate_features, cam
        pooled = maps.mean(axis=(1, 2))
        return probs, gate_features, cam, pooled / np.maximum(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)

    def outputs(self, pixels: np.ndarray, class_index: int | None = None, explain: bool = True) -> Outputs:
        """Everything one pass computes for a batch of pixels (see `run`)."""
        return Outputs(*self.run(pixels, class_index=class_index, explain=explain, with_features=True))

    def count_params(self) -> int:
        """The network's number of weights."""
        return int(self.keras_model.count_params())

    @property
    def files(self) -> list[Path]:
        """The files the model is made of (the network; its card and profile sit beside it)."""
        return [self.path]

    def risk(self, probs: np.ndarray, verdict: str, out: Outputs) -> Risk:
        """The risk of an answer with calibrated `probs` (averaged over the photos) and the pass `out`."""
        return assess_risk(probs, self.labels, self.other_index, verdict, out.embeddings, self.safety)

    def pixels(self, photos: list) -> np.ndarray:
        """The model's input for decoded photos (PIL images): one square array per photo."""
        return np.stack([to_model_input(photo, self.size) for photo in photos])

    def load_pixels(self, paths: list[str]) -> np.ndarray:
        """The model's input for photo files, decoded in parallel as `pixels` decodes them."""
        return load_images(paths, self.size).astype(np.float32)

    def predict_paths(self, paths: list[str], batch_size: int = 32) -> np.ndarray:
        """The model's own (uncalibrated) class probabilities for photo files; `temperature` calibrates them."""
        if not paths:
            return np.zeros((0, len(self.labels)), np.float32)
        return np.concatenate(
            [
                self.forward(self.load_pixels(paths[start : start + batch_size]))
                for start in range(0, len(paths), batch_size)
            ]
        )

    def predict_with_members(self, paths: list[str], batch_size: int = 32) -> tuple[np.ndarray, None]:
        """`predict_paths`, and no member probabilities (a single network has no members)."""
        return self.predict_paths(paths, batch_size), None

    def forward(self, pixels: np.ndarray) -> np.ndarray:
        """One bare forward pass of the Keras graph (the benchmark's reference)."""
        return self.keras_model(tf.convert_to_tensor(pixels, tf.float32), training=False).numpy()


def resolve_model_path(name_or_path: str | Path) -> Path:
    """A shipped model's name (in `models/`) or an explicit `.h5`/`.keras`/`.ensemble.json` path."""
    candidate = Path(name_or_path)
    if candidate.suffix in MODEL_SUFFIXES or candidate.name.endswith(ENSEMBLE_SUFFIX):
        return candidate
    for path in (MODELS_DIR / f"{name_or_path}.h5", MODELS_DIR / f"{name_or_path}{ENSEMBLE_SUFFIX}"):
        if path.is_file():
            return path
    known = ", ".join(available_models()) or "none"
    raise ModelLoadError(f"no model named {name_or_path!r} in {MODELS_DIR} (available: {known})")


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's version (modification time, size), or None if it vanished meanwhile."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=64)
def _unservable_reason(path: Path, model_stamp: tuple | None, card_stamp: tuple | None) -> str | None:
    """Why a model file and its card fail the cheap checks (readable HDF5 model, valid card), None if they pass.

    Cached per file version (the stamps; an ensemble's include its members'), so page reruns neither reread the
    files nor repeat the warning.
    Any file at all may sit in `models/`: whatever goes wrong reading it is a reason, never an error.
    """
    try:
        problem = file_problem(path)  # a pipe or a device named *.h5 would block the reader
        if problem:
            raise ModelLoadError(f"{path.name}: {problem}")
        if path.name.endswith(ENSEMBLE_SUFFIX):
            _check_members(read_card(path))
        else:
            check_h5(path)
            read_card(card_path(path))
    except ModelLoadError as exc:
        reason = str(exc)
    except Exception as exc:  # h5py and the JSON reader raise many types for hostile files
        reason = f"{path.name}: unreadable ({type(exc).__name__})"
    else:
        return None
    reason = " ".join(reason.split())
    log.warning("not offering %s: %s", model_name(path), reason)
    return reason


def _member_names(card: dict) -> list[str]:
    """The member model names an ensemble card lists: bare names of models in `models/` (no path, no suffix)."""
    members = card.get("members")
    if not isinstance(members, list) or not members:
        raise ModelLoadError(f"{card['name']}: an ensemble card lists no members")
    names = [entry.get("model") if isinstance(entry, dict) else None for entry in members]
    for name, entry in zip(names, members):
        if not isinstance(name, str) or not MEMBER_NAME.fullmatch(name):
            raise ModelLoadError(f"{card['name']}: a member must be named by a model name in models/, not {name!r}")
        weight = entry.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1:
            raise ModelLoadError(f"{card['name']}: member {name} needs a weight in (0, 1], not {weight!r}")
    return names


def _check_members(card: dict) -> None:
    """Raise `ModelLoadError` unless every member of an ensemble card is a servable model of the fitted version."""
    for name, entry in zip(_member_names(card), card["members"]):
        path = MODELS_DIR / f"{name}.h5"
        reason = _unservable_reason(path, _stamp(path), _stamp(card_path(path))) if path.is_file() else "missing"
        if reason:
            raise ModelLoadError(f"member {name}: {reason}")
        if str(read_card(card_path(path)).get("created", "")) != str(entry.get("created", "")):
            raise ModelLoadError(f"member {name} was retrained after the ensemble was fitted (refit it)")


def _model_checks() -> dict[str, str | None]:
    """Every `models/*.h5` with a card and every ensemble card: its name and why it cannot be offered (None when it
    can)."""
    singles = sorted(p for p in MODELS_DIR.glob("*.h5") if card_path(p).is_file())
    checks = {model_name(p): _unservable_reason(p, _stamp(p), _stamp(card_path(p))) for p in singles}
    every_single = tuple((p.name, _stamp(p), _stamp(card_path(p))) for p in singles)
    for path in sorted(MODELS_DIR.glob(f"*{ENSEMBLE_SUFFIX}")):  # its check depends on every possible member too
        checks[model_name(path)] = _unservable_reason(path, _stamp(path), every_single)
    return dict(sorted(checks.items()))


def available_models() -> list[str]:
    """Names of the models in `models/` that can be offered (an intact `.h5` with a valid card), default first."""
    names = [name for name, reason in _model_checks().items() if reason is None]
    return sorted(names, key=lambda n: n != DEFAULT_MODEL)


def unavailable_models() -> dict[str, str]:
    """The models in `models/` that cannot be offered, each with a one-line reason."""
    return {name: reason for name, reason in _model_checks().items() if reason is not None}


def read_model_card(name_or_path: str | Path) -> dict:
    """The card of a model (a single network or an ensemble), read without loading any network."""
    return read_card(card_path(resolve_model_path(name_or_path)))


@lru_cache(maxsize=8)
def _load(path: Path) -> ChampyModel:
    if path.name.endswith(ENSEMBLE_SUFFIX):
        from champy.inference.ensemble import EnsembleModel

        _check_members(read_card(path))
        return EnsembleModel(path, read_card(path))
    keras_model = load_keras_model(path)
    card = read_card(card_path(path), num_outputs=int(keras_model.output_shape[-1]))
    return ChampyModel(path, keras_model, card)


_LOADING = threading.RLock()
"""One load at a time: the app's warm-up thread and a page asking for the same member never load it twice."""


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> ChampyModel:
    """Load a model once per process (later calls return the same object); an ensemble comes back as an
    `EnsembleModel`, which answers wherever a `ChampyModel` does."""
    with _LOADING:
        return _load(resolve_model_path(name_or_path).resolve())
