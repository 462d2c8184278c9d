"""A model's safety profile (`models/<model>.safety.json`): what the risk assessment learned on held-out photos.

It holds the thresholds of each risk route, the model's answers on its validation photos (to read its known
confusions), and the embeddings of licensed reference photos of dangerous look-alikes the model has no class for;
beside it, `models/<model>.vouch.npz` holds the photos a "low" level is vouched against (`champy.safety.vouch`).
`champy fit-safety` writes both; `champy.safety.risk` reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from champy.atomic import write_text
from champy.errors import ChampyError
from champy.models.card import model_name
from champy.models.card_values import is_share
from champy.safety.vouch import VouchBank, bank_path

SUFFIX = ".safety.json"


@dataclass(frozen=True)
class Thresholds:
    """Where each route starts to count a danger as plausible (calibrated probabilities, cosine similarity)."""

    deadly_probability: float = 0.02
    poisonous_probability: float = 0.05
    dangerous_genus_probability: float = 0.10
    lookalike_similarity: float = 0.7
    vouch_margin: float = 0.1
    """How much closer a photo must be to the answered species' photos than to any species without a class
    (`champy.safety.vouch`) for "low"."""


@dataclass(frozen=True)
class ValidationAnswer:
    """One validation photo: the class index the model answered, with which probability, and the true species."""

    answer: int
    confidence: float
    species: str


@dataclass(frozen=True)
class ReferencePhoto:
    """A licensed photo of a dangerous look-alike, by its embedding under the model (a read-only float32 row: a
    profile holds thousands of values per photo, as Python floats they took about 11 MB in the default ensemble)."""

    species: str
    path: str
    embedding: np.ndarray = field(compare=False)

    def __post_init__(self) -> None:
        row = np.array(self.embedding, np.float32)
        row.setflags(write=False)
        object.__setattr__(self, "embedding", row)


def model_key_of(card: dict) -> str:
    """A short digest of what a model's answers depend on besides its class list: an ensemble's members (names,
    training times, weights), temperature, open-set rule and "other" class; a single model's training time and
    temperature. A profile fitted under another key belongs to another model."""
    temperature = float(card.get("calibration", {}).get("temperature", 1.0))
    if "members" in card:
        open_set = card.get("open_set", {})
        what = {
            "members": [[entry.get("model"), entry.get("created"), entry.get("weight")] for entry in card["members"]],
            "temperature": temperature,
            "open_set": [open_set.get("score"), open_set.get("unknown_threshold")],
            "other_index": card.get("other_index"),
        }
    else:
        what = {"created": str(card.get("created", "")), "temperature": temperature}
    canonical = json.dumps(what, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class SafetyProfile:
    model: str
    fitted_on: str
    thresholds: Thresholds = field(default_factory=Thresholds)
    validation: tuple[ValidationAnswer, ...] = ()
    references: tuple[ReferencePhoto, ...] = ()
    how_chosen: dict[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    model_created: str = ""
    model_key: str = ""
    """`model_key_of` the card it was fitted for."""
    vouch: VouchBank | None = field(default=None, compare=False, repr=False)
    """The photos "low" is vouched against (`models/<model>.vouch.npz`, beside the profile)."""

    def mismatch(self, card: dict, embedding_size: int) -> str | None:
        """Why this profile does not belong to the model with `card` and embeddings of `embedding_size` (another
        class list or training, or a look-alike bank of another embedding), or None."""
        labels = tuple(label["name"] for label in card["labels"])
        if self.labels != labels:
            return "it was fitted for another class list"
        if self.model_created != str(card.get("created", "")):
            return f"it was fitted for the model trained {self.model_created or 'at an unknown time'}"
        if self.model_key != model_key_of(card):
            return "it was fitted for other member weights, temperature or open-set settings"
        bank = self.reference_matrix()
        if bank.shape[1] != embedding_size:
            return f"its look-alike bank holds embeddings of {bank.shape[1]} values, the model's have {embedding_size}"
        if self.vouch is None:
            return "it has no vouch bank"
        if self.vouch.embeddings.shape[1] != embedding_size:
            return f"its vouch bank holds embeddings of {self.vouch.embeddings.shape[1]} values, not {embedding_size}"
        return None

    def reference_matrix(self) -> np.ndarray:
        """The reference embeddings as rows (0 x 0 when there are none), read-only."""
        return self._reference_matrix

    @cached_property
    def _reference_matrix(self) -> np.ndarray:
        """Built once per profile: every risk assessment reads it several times (about 1.5 ms a build)."""
        if not self.references:
            return np.zeros((0, 0), np.float32)
        matrix = np.stack([ref.embedding for ref in self.references])
        matrix.setflags(write=False)
        return matrix

    def to_json(self) -> str:
        """JSON with one line per validation answer and per reference photo (diffs stay readable)."""
        data = asdict(replace(self, vouch=None))
        del data["vouch"]
        for ref in data["references"]:
            ref["embedding"] = [round(float(x), 5) for x in ref["embedding"]]
        parts = []
        for key, value in data.items():
            if isinstance(value, (list, tuple)):
                rows = ",\n  ".join(json.dumps(item) for item in value)
                parts.append(f' "{key}": [\n  {rows}\n ]' if value else f' "{key}": []')
            else:
                parts.append(f' "{key}": {json.dumps(value, indent=1)}')
        return "{\n" + ",\n".join(parts) + "\n}\n"


def profile_path(model_path: Path) -> Path:
    """Where the profile of the model stored at `model_path` lives (beside it)."""
    return model_path.with_name(model_name(model_path) + SUFFIX)


def _problem(data: dict) -> str | None:
    """What makes a profile's JSON unusable for the risk rules (a missing or out-of-range value), or None."""
    keys = {item.name for item in fields(Thresholds)}
    thresholds = data["thresholds"]
    if not isinstance(thresholds, dict) or set(thresholds) != keys:
        return f"thresholds must be exactly {', '.join(sorted(keys))}"
    if not all(is_share(value) for value in thresholds.values()):
        return "thresholds must be numbers in [0, 1]"
    labels, validation, references = data["labels"], data["validation"], data["references"]
    if not isinstance(labels, list) or not labels or not all(isinstance(name, str) for name in labels):
        return "no class list (names as text)"
    if not isinstance(validation, list) or not validation:
        return "no validation answers"
    for row in validation:
        answer = row["answer"]
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(labels):
            return f"a validation answer is not a class index below {len(labels)}: {answer!r}"
        if not is_share(row["confidence"]):
            return f"a validation confidence is not a number in [0, 1]: {row['confidence']!r}"
        if not isinstance(row["species"], str):
            return "a validation answer's species is not text"
    if not isinstance(references, list) or not references:
        return "no look-alike reference photos"
    lengths = {len(ref["embedding"]) for ref in references}
    if len(lengths) != 1 or 0 in lengths:
        return "the reference embeddings are not all of one length"
    if not all(isinstance(ref["species"], str) and isinstance(ref["path"], str) for ref in references):
        return "a reference photo's species or path is not text"
    embeddings = np.asarray([ref["embedding"] for ref in references])
    if embeddings.ndim != 2 or embeddings.dtype.kind not in "iuf" or not np.isfinite(embeddings).all():
        return "a reference embedding holds a value that is not a finite number"
    return None


def read_profile(path: Path) -> SafetyProfile | None:
    """The profile at `path` with its vouch bank, or None when the model has none; ChampyError when either is
    unreadable or incomplete (every threshold, validation answers, reference photos and the bank are required:
    nothing is filled with defaults)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problem = _problem(data)
        profile = SafetyProfile(
            model=str(data["model"]),
            fitted_on=str(data["fitted_on"]),
            thresholds=Thresholds(**{key: float(value) for key, value in data["thresholds"].items()}),
            validation=tuple(ValidationAnswer(**row) for row in data["validation"]),
            references=tuple(
                ReferencePhoto(ref["species"], ref["path"], ref["embedding"]) for ref in data["references"]
            ),
            how_chosen=dict(data.get("how_chosen", {})),
            labels=tuple(data["labels"]),
            model_created=str(data["model_created"]),
            model_key=str(data["model_key"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ChampyError(f"cannot read the safety profile {path}: {exc}") from exc
    if problem:
        raise ChampyError(f"cannot use the safety profile {path}: {problem}")
    return replace(profile, vouch=VouchBank.load(bank_path(path)))


def write_profile(profile: SafetyProfile, path: Path) -> None:
    """Write the profile and its vouch bank atomically."""
    if profile.vouch is not None:
        profile.vouch.save(bank_path(path))
    write_text(path, profile.to_json())
