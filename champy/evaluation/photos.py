"""Photos through a model for fitting and measuring the safety rules: probabilities and embeddings, the paths
recorded for them, which reference photos are held out together, and a photo identified with them held out."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from champy.inference.ensemble import Model
from champy.inference.identification import Identification, identify
from champy.paths import PROJECT_ROOT
from champy.scoring.calibration import apply_temperature


@dataclass
class Embedded:
    """Calibrated probabilities and embeddings of a list of photos."""

    probs: np.ndarray
    embeddings: np.ndarray


def embed_photos(model: Model, paths: list[str], batch_size: int = 16) -> Embedded:
    """Run the model on photos (decoded as for identification): calibrated probabilities and embeddings."""
    probs, embeddings = [], []
    for start in range(0, len(paths), batch_size):
        pixels = model.load_pixels(paths[start : start + batch_size])
        raw, _, _, features = model.run(pixels, explain=False, with_features=True)
        probs.append(apply_temperature(raw, model.temperature))
        embeddings.append(features)
    if not probs:
        return Embedded(np.zeros((0, len(model.labels))), np.zeros((0, 0)))
    return Embedded(np.concatenate(probs), np.concatenate(embeddings))


def shown_path(path: str) -> str:
    """A path relative to the project when it lies inside it (cards and profiles carry no machine paths)."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(PROJECT_ROOT)) if resolved.is_relative_to(PROJECT_ROOT) else resolved.name


def siblings(references: pd.DataFrame, path: str, by: str) -> list[str]:
    """The reference photos held out with `path`: those of its species by the same author (`by="author"`, the same
    outing or specimen) or every photo of its species (`by="species"`)."""
    row = references[references["path"] == path].iloc[0]
    same = references["species"] == row["species"]
    if by == "author":
        same &= references["author"] == row["author"]
    return list(references.loc[same, "path"])


@contextlib.contextmanager
def leaving_out(model: Model, photos: list[str | Path]) -> Iterator[None]:
    """While the block runs, the model's look-alike bank (and an ensemble's members') lacks `photos`, so a reference
    photo is never compared with itself, nor with its siblings (pass those too), when it is used as a test photo."""
    shown = {shown_path(str(photo)) for photo in photos}
    models = [model, *getattr(model, "members", [])]
    saved = [m.safety for m in models]
    for m in models:
        if m.safety is not None:
            m.safety = dataclasses.replace(
                m.safety,
                references=tuple(r for r in m.safety.references if r.path not in shown),
                vouch=m.safety.vouch.without(shown) if m.safety.vouch is not None else None,
            )
    try:
        yield
    finally:
        for m, profile in zip(models, saved):
            m.safety = profile


def identify_held_out(model: Model, path: str, hold_out: pd.DataFrame | None, by: str = "author") -> Identification:
    """`identify` the photo at `path`; with `hold_out` (the reference table), with its siblings there (`siblings`,
    `by` author or species) left out of the model's look-alike and vouch banks."""
    held = siblings(hold_out, path, by) if hold_out is not None else []
    with leaving_out(model, held):
        return identify(path, model, explain=False)
