"""`identify`: everything Champy says about one photo (or several photos of one specimen).

The verdict is "not_a_mushroom" when the gate rejects the photo, "unknown" when no known species
is confident enough (the threshold chosen on held-out data, in the model card), and "mushroom"
otherwise. Best guesses are always listed, whatever the verdict, with their edibility, and every
toxic candidate or toxic look-alike raises a warning.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from champy.edibility import DISCLAIMER, edibility_warnings, lookup
from champy.images import ImageSource, check_photo_count, fit_within, load_image
from champy.inference.decode import Candidate, genus_rollup, top_species
from champy.inference.ensemble import Model
from champy.inference.gradcam import overlay
from champy.safety import Risk
from champy.scoring.calibration import apply_temperature
from champy.scoring.openset import open_set_score

GENUS_CONFIDENT = 0.6


@dataclass(frozen=True)
class SpeciesCandidate:
    name: str
    genus: str
    probability: float
    edibility: str


@dataclass
class Identification:
    """The answer for one photo or one specimen."""

    image: str
    model: str
    verdict: str
    answer: str
    answer_rank: str
    mushroom_probability: float
    species: list[SpeciesCandidate]
    genus: list[Candidate]
    warnings: list[str]
    timings_ms: dict[str, float]
    other_probability: float = 0.0
    risk: Risk | None = None
    disclaimer: str = DISCLAIMER
    photo: Image.Image | None = field(default=None, repr=False)
    overlay: np.ndarray | None = field(default=None, repr=False)
    overlays: list[np.ndarray] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        """The JSON object the CLI prints (`--json`)."""
        return {
            "image": self.image,
            "model": self.model,
            "verdict": self.verdict,
            "answer": self.answer,
            "answer_rank": self.answer_rank,
            "mushroom_probability": round(self.mushroom_probability, 4),
            "species": [
                {"name": c.name, "genus": c.genus, "probability": round(c.probability, 4), "edibility": c.edibility}
                for c in self.species
            ],
            "genus": [{"name": c.name, "probability": round(c.probability, 4)} for c in self.genus],
            "other_probability": round(self.other_probability, 4),
            "risk": self.risk.to_dict() if self.risk else None,
            "warnings": self.warnings,
            "disclaimer": self.disclaimer,
            "timings_ms": {key: round(value, 1) for key, value in self.timings_ms.items()},
        }


def _verdict(
    model: Model, probs: np.ndarray, members: np.ndarray | None, gate_score: float, top: str, genus: list[Candidate]
) -> tuple[str, str, str]:
    """(verdict, answer, rank of the answer) for calibrated probabilities (an ensemble's `members` too) and a gate
    score."""
    if gate_score < model.gate.threshold:
        return "not_a_mushroom", "not a mushroom", "none"
    score = open_set_score(probs[None], model.other_index, model.open_set_score, members)
    if float(score[0]) >= model.unknown_threshold:
        return "mushroom", top, "species"
    if genus and genus[0].probability >= GENUS_CONFIDENT:
        return "unknown", f"genus {genus[0].name} (species not identified)", "genus"
    return "unknown", "a mushroom the model does not know", "none"


def _identify_pixels(
    model: Model,
    photos: list[Image.Image],
    pixels: np.ndarray | dict[int, np.ndarray],
    name: str,
    top_k: int,
    explain: bool,
    class_index: int | None,
    min_probability: float,
    preprocess_ms: float,
) -> Identification:
    start = time.perf_counter()
    out = model.outputs(pixels, class_index=class_index, explain=explain)
    cams = out.cams
    predict_ms = (time.perf_counter() - start) * 1000
    probs = apply_temperature(out.probs, model.temperature).mean(axis=0)
    members = out.members.mean(axis=1)[:, None] if out.members is not None else None
    gate_score = float(model.gate.probability(out.gate_features).mean())
    genus = genus_rollup(probs, model.labels, model.other_index)
    ranked = top_species(probs, model.labels, model.other_index, top_k)
    verdict, answer, rank = _verdict(model, probs, members, gate_score, ranked[0][0]["name"], genus)
    species = [
        SpeciesCandidate(label["name"], label["genus"], p, lookup(label["name"]).status)
        for label, p in ranked
        if p >= min_probability
    ]
    start = time.perf_counter()
    overlays = (
        [overlay(photo, cam) for photo, cam in zip(photos, cams)] if explain and verdict != "not_a_mushroom" else []
    )
    gradcam_ms = (time.perf_counter() - start) * 1000
    warnings = edibility_warnings([(c.name, c.probability) for c in species])
    risk = model.risk(probs, verdict, out)
    return Identification(
        image=name,
        model=model.name,
        verdict=verdict,
        answer=answer,
        answer_rank=rank,
        mushroom_probability=gate_score,
        species=species,
        genus=genus[:top_k],
        warnings=warnings,
        timings_ms={"preprocess": preprocess_ms, "predict": predict_ms, "gradcam": gradcam_ms},
        other_probability=float(probs[model.other_index]) if model.other_index is not None else 0.0,
        risk=risk,
        photo=photos[0],
        overlay=overlays[0] if overlays else None,
        overlays=overlays,
    )


def identify_specimen(
    sources: Sequence[ImageSource],
    model: Model,
    top_k: int = 5,
    explain: bool = True,
    class_index: int | None = None,
    names: Sequence[str] | None = None,
    min_probability: float = 0.0,
    decoded: Sequence[Image.Image] | None = None,
) -> Identification:
    """Identify one specimen from one or several photos (calibrated probabilities averaged).

    The species list holds the `top_k` most probable species at or above `min_probability`;
    `class_index` picks the class Grad-CAM explains (default: the most probable). `decoded` holds the photos already
    decoded as `load_image(source, draft_size=2 * model.size)` decodes them (a caller that runs several models of one
    input size on the same photos decodes them once).

    Raises `BadImageError` for a photo that cannot be read or more than `champy.images.MAX_PHOTOS` photos.
    """
    if not sources:
        raise ValueError("no photo given")
    check_photo_count(len(sources))
    names = (
        list(names) if names else [str(s) if isinstance(s, str) else f"photo {i + 1}" for i, s in enumerate(sources)]
    )
    start = time.perf_counter()
    if decoded is None:
        decoded = [load_image(source, name=name, draft_size=2 * model.size) for source, name in zip(sources, names)]
    pixels = model.pixels(decoded)
    photos = [fit_within(photo) for photo in decoded]  # what the result keeps and shows: display size
    preprocess_ms = (time.perf_counter() - start) * 1000
    return _identify_pixels(
        model, photos, pixels, ", ".join(names), top_k, explain, class_index, min_probability, preprocess_ms
    )


def identify(
    source: ImageSource,
    model: Model,
    top_k: int = 5,
    explain: bool = True,
    class_index: int | None = None,
    name: str | None = None,
    min_probability: float = 0.0,
) -> Identification:
    """Identify the mushroom in one photo (path, bytes or file object)."""
    return identify_specimen([source], model, top_k, explain, class_index, [name] if name else None, min_probability)
