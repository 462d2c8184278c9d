"""A model's safety profile (`models/<model>.safety.json`): what the risk assessment learned on held-out photos.

It holds the thresholds of each risk route, the model's answers on its validation photos (to read its known
confusions), and the embeddings of licensed reference photos of dangerous look-alikes the model has no class for.
`champy fit-safety` writes it; `champy.safety.risk` reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from champy.atomic import write_text
from champy.errors import ChampyError
from champy.models.card import model_name

SUFFIX = ".safety.json"


@dataclass(frozen=True)
class Thresholds:
    """Where each route starts to count a danger as plausible (calibrated probabilities, cosine similarity)."""

    deadly_probability: float = 0.02
    poisonous_probability: float = 0.05
    dangerous_genus_probability: float = 0.10
    lookalike_similarity: float = 0.7


@dataclass(frozen=True)
class ValidationAnswer:
    """One validation photo: the class index the model answered, with which probability, and the true species."""

    answer: int
    confidence: float
    species: str


@dataclass(frozen=True)
class ReferencePhoto:
    """A licensed photo of a dangerous look-alike, by its embedding under the model."""

    species: str
    path: str
    embedding: tuple[float, ...]


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

    def mismatch(self, card: dict) -> str | None:
        """Why this profile does not belong to the model with `card` (another class list or training), or None."""
        labels = tuple(label["name"] for label in card["labels"])
        if self.labels != labels:
            return "it was fitted for another class list"
        if self.model_created != str(card.get("created", "")):
            return f"it was fitted for the model trained {self.model_created or 'at an unknown time'}"
        return None

    def reference_matrix(self) -> np.ndarray:
        """The reference embeddings as rows (0 x 0 when there are none)."""
        if not self.references:
            return np.zeros((0, 0), np.float32)
        return np.asarray([ref.embedding for ref in self.references], np.float32)

    def to_json(self) -> str:
        """JSON with one line per validation answer and per reference photo (diffs stay readable)."""
        data = asdict(self)
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


def read_profile(path: Path) -> SafetyProfile | None:
    """The profile at `path`, or None when the model has none; ChampyError when it is unreadable."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = SafetyProfile(
            model=str(data["model"]),
            fitted_on=str(data["fitted_on"]),
            thresholds=Thresholds(**{key: float(value) for key, value in data["thresholds"].items()}),
            validation=tuple(ValidationAnswer(**row) for row in data["validation"]),
            references=tuple(
                ReferencePhoto(ref["species"], ref["path"], tuple(ref["embedding"])) for ref in data["references"]
            ),
            how_chosen=dict(data.get("how_chosen", {})),
            labels=tuple(data["labels"]),
            model_created=str(data["model_created"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ChampyError(f"cannot read the safety profile {path}: {exc}") from exc
    limits = asdict(profile.thresholds).values()
    if not all(isinstance(value, float) and 0.0 <= value <= 1.0 for value in limits):
        raise ChampyError(f"cannot read the safety profile {path}: thresholds must be numbers in [0, 1]")
    return profile


def write_profile(profile: SafetyProfile, path: Path) -> None:
    """Write the profile atomically."""
    write_text(path, profile.to_json())
