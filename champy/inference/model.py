"""A loaded Champy network: its card, its compiled forward pass and, for each batch of photos, one pass.

`ChampyModel.run` computes, in ONE forward pass, the species probabilities, the pooled ImageNet features the
mushroom gate reads and the last convolutional maps, then the Grad-CAM map of the chosen class from the head's
gradient on those maps. It runs that pass compiled for the CPU with the LiteRT runtime and Grad-CAM in NumPy
(`champy.inference.compiled`, `champy.inference.head`): no TensorFlow. Only a model whose compiled form is missing
or stale from the cache loads in TensorFlow (`champy.inference.keras_model`, one log line says so), to be compiled
and cached, after which it answers in LiteRT too; one that cannot be compiled keeps answering in TensorFlow. Models
are loaded by `champy.inference.loader`; this module also says which files in `models/` can be offered.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from champy.errors import ChampyError, ModelLoadError
from champy.image_batch import load_images
from champy.images import to_model_input
from champy.inference.compiled import Compiled
from champy.inference.gate import DEFAULT_GATE_BACKBONE, gate_file, load_gate, read_gate
from champy.models.card import ENSEMBLE_SUFFIX, card_path, model_name, read_card
from champy.models.storage import MODEL_SUFFIXES, check_h5
from champy.path_kind import file_problem
from champy.paths import DEFAULT_MODEL, MODELS_DIR
from champy.safety.profile import SafetyProfile, profile_path, read_profile
from champy.safety.risk import Risk, assess_risk
from champy.safety.vouch import bank_path

log = logging.getLogger(__name__)
MEMBER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
"""How an ensemble card names a member: a model name in `models/`, never a path."""


@lru_cache(maxsize=16)
def _profile_version(path: Path, stamps: tuple) -> SafetyProfile | None:
    """`read_profile`, once per version (`stamps`) of the profile and its vouch bank."""
    return read_profile(path)


def model_profile(path: Path) -> SafetyProfile | None:
    """The safety profile of the model at `path` (None without one); ChampyError when it is broken or incomplete."""
    profile = profile_path(path)
    return _profile_version(profile, (_stamp(profile), _stamp(bank_path(profile))))


def matching_profile(path: Path, card: dict, embedding_size: int) -> SafetyProfile | None:
    """The model's safety profile, or None (risk never "low") when it is missing, unreadable, incomplete or another
    model's (its look-alike bank of embeddings of another size than `embedding_size` included)."""
    try:
        profile = model_profile(path)
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
    """A shipped single network ready for inference (load it with `load_model`), run by LiteRT from its compiled
    form; `KerasModel` runs the same network in TensorFlow."""

    def __init__(self, path: Path, card: dict, compiled: Compiled | None) -> None:
        self.path = path
        self.name = model_name(path)
        self.card = card
        self.labels: list[dict] = card["labels"]
        self.size = int(card["input"]["size"])
        self.other_index: int | None = card.get("other_index")
        self.temperature = float(card.get("calibration", {}).get("temperature", 1.0))
        self.unknown_threshold = float(card.get("open_set", {}).get("unknown_threshold", 0.0))
        self.open_set_score: str = card.get("open_set", {}).get("score", "known_confidence")
        self.backbone = card["backbone"]
        self._lock = threading.Lock()
        self._compiled = compiled
        if compiled is not None:
            if compiled.head.classes != len(self.labels):
                raise ModelLoadError(f"{path.name}: {len(self.labels)} labels for a model with {compiled.head.classes}")
            self._configure(compiled.gate_backbone, compiled.embedding_size)
            features = compiled.forward.vector_size - len(self.labels)
            if self.gate.mean.size != features:
                raise ModelLoadError(
                    f"{path.name}: its gate reads {self.gate.mean.size} features, the network has {features}"
                )

    def _configure(self, gate_backbone: str, embedding_size: int) -> None:
        """Set the gate (the ImageNet network `gate_backbone`'s) and the safety profile for embeddings of
        `embedding_size` (the last maps' channels)."""
        self.gate_backbone = gate_backbone
        self.gate = load_gate(gate_backbone)
        self.embedding_size = embedding_size
        self.safety = matching_profile(self.path, self.card, embedding_size)

    def compile(self, enabled: bool = True, build: bool = True) -> bool:
        """Whether the forward pass runs compiled: always, for a model loaded from its compiled form (`KerasModel`
        compiles and switches)."""
        return self._compiled is not None

    @property
    def compiled(self) -> bool:
        """Whether the forward pass runs compiled for the CPU (see `compile`)."""
        return self._compiled is not None

    def _pass(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The last convolutional maps and one vector per photo (gate features, then class probabilities)."""
        return self._compiled.forward(batch)

    def _grad_cam(self, maps: np.ndarray, chosen: np.ndarray) -> np.ndarray:
        """Grad-CAM maps of class `chosen[i]` on each photo's last convolutional maps."""
        return self._compiled.head.grad_cam(maps, chosen)

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
            maps, vectors = self._pass(batch)
            gate_features, probs = vectors[:, : -len(self.labels)], vectors[:, -len(self.labels) :]
            if explain:
                chosen = probs.argmax(axis=-1) if class_index is None else np.full(len(batch), class_index)
                cam = self._grad_cam(maps, chosen)
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
        return self._compiled.params

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
        """The class probabilities of one forward pass."""
        with self._lock:
            return self._pass(np.asarray(pixels, np.float32))[1][:, -len(self.labels) :]


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


def _check_companions(path: Path, card: dict) -> None:
    """Raise `ModelLoadError` when the files beside a model that it answers with are broken: its safety profile (a
    broken one must never be taken for none) and, for a single network, the mushroom gate its backbone reads."""
    try:
        profile = model_profile(path)
    except ChampyError as exc:
        raise ModelLoadError(f"{model_name(path)}: its safety profile is unusable ({exc})") from None
    if profile is not None and profile.reference_matrix().shape[1] != profile.vouch.embeddings.shape[1]:
        raise ModelLoadError(f"{model_name(path)}: its look-alike and vouch banks hold embeddings of different lengths")
    gate = gate_file(card["backbone"])
    gate = gate if gate.is_file() else gate_file(DEFAULT_GATE_BACKBONE)
    if "members" not in card and gate.is_file():  # without one, loading the model says so
        read_gate(gate)


def load_problem(path: Path) -> str | None:
    """Why a model file and the files it answers with fail the cheap checks (a model name; a readable HDF5 model; a
    valid card; an intact safety profile and gate), None if they pass: what loading checks before anything is
    compiled, and what decides whether a model is offered. Nothing is logged: the caller says why.

    Any file at all may sit in `models/`: whatever goes wrong reading it is a reason, never an error.
    """
    try:
        if not MEMBER_NAME.fullmatch(model_name(path)):
            raise ModelLoadError(f"{ascii(path.name)[:80]}: a model's name is letters, digits, '-' and '_'")
        problem = file_problem(path)  # a pipe or a device named *.h5 would block the reader
        if problem:
            raise ModelLoadError(f"{path.name}: {problem}")
        if path.name.endswith(ENSEMBLE_SUFFIX):
            card = read_card(path)
            check_members(card)
        else:
            check_h5(path)
            card = read_card(card_path(path))
        _check_companions(path, card)
    except ModelLoadError as exc:
        reason = str(exc)
    except Exception as exc:  # h5py and the JSON reader raise many types for hostile files
        reason = f"{path.name}: unreadable ({type(exc).__name__})"
    else:
        return None
    return " ".join(reason.split())


def refuse_unloadable(path: Path) -> None:
    """Raise `ModelLoadError` ("not offered: reason") when the network or ensemble file at `path`, or a file beside it
    that it answers with, fails `load_problem`: what every loader runs before anything is built or compiled."""
    if path.name.endswith(ENSEMBLE_SUFFIX) or path.suffix == ".h5":
        reason = load_problem(path)
        if reason:
            raise ModelLoadError(f"not offered: {reason}")


@lru_cache(maxsize=64)
def _unservable_reason(path: Path, model_stamp: tuple | None, companions: tuple) -> str | None:
    """`load_problem`, logged as a warning, cached per file version (the stamps; an ensemble's include its
    members', and each's companions'), so page reruns neither reread the files nor repeat the warning."""
    reason = load_problem(path)
    if reason:
        log.warning("not offering %s: %s", model_name(path), reason)
    return reason


def _gate_stamps() -> tuple:
    """The versions of the gates in `models/` (any model may answer with one of them)."""
    return tuple(_stamp(gate) for gate in sorted(MODELS_DIR.glob("mushroom_gate*.json")))


def _stamps(path: Path, gates: tuple) -> tuple:
    """The versions of a model file's companions: its card, safety profile, vouch bank, and `gates` (`_gate_stamps`)."""
    profile = profile_path(path)
    return (_stamp(card_path(path)), _stamp(profile), _stamp(bank_path(profile)), gates)


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


def check_members(card: dict) -> None:
    """Raise `ModelLoadError` unless every member of an ensemble card is a servable model of the fitted version."""
    gates = _gate_stamps()
    for name, entry in zip(_member_names(card), card["members"]):
        path = MODELS_DIR / f"{name}.h5"
        reason = _unservable_reason(path, _stamp(path), _stamps(path, gates)) if path.is_file() else "missing"
        if reason:
            raise ModelLoadError(f"member {name}: {reason}")
        if str(read_card(card_path(path)).get("created", "")) != str(entry.get("created", "")):
            raise ModelLoadError(f"member {name} was retrained after the ensemble was fitted (refit it)")


def _model_checks() -> dict[str, str | None]:
    """Every `models/*.h5` with a card and every ensemble card: its name and why it cannot be offered (None when it
    can)."""
    gates = _gate_stamps()
    singles = sorted(p for p in MODELS_DIR.glob("*.h5") if card_path(p).is_file())
    every_single = tuple((p.name, _stamp(p), _stamps(p, gates)) for p in singles)
    checks = {
        model_name(p): _unservable_reason(p, stamp, companions)
        for p, (_, stamp, companions) in zip(singles, every_single)
    }
    for path in sorted(MODELS_DIR.glob(f"*{ENSEMBLE_SUFFIX}")):  # its check depends on every possible member too
        checks[model_name(path)] = _unservable_reason(path, _stamp(path), (_stamps(path, gates), every_single))
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
