"""From a probability vector to names: top-k species, the genus roll-up, and the answer's rank.

Species probabilities are the calibrated softmax over the model's known species; the pooled
"other fungi" output, when the model has one, is no species and never appears in the lists.
A genus's probability is the sum of its species' probabilities, so when no single species is
confident the answer can still name the genus (as iNaturalist names the common ancestor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Candidate:
    """A named class and its probability."""

    name: str
    probability: float


def top_species(probs: np.ndarray, labels: list[dict], other_index: int | None, k: int) -> list[tuple[dict, float]]:
    """The k most probable known species (label dict, probability), descending."""
    order = [int(i) for i in np.argsort(-probs, kind="stable") if int(i) != other_index]
    return [(labels[i], float(probs[i])) for i in order[:k]]


def genus_rollup(probs: np.ndarray, labels: list[dict], other_index: int | None) -> list[Candidate]:
    """Genus probabilities (sums of their species), descending."""
    totals: dict[str, float] = {}
    for i, label in enumerate(labels):
        if i != other_index and label.get("genus"):
            totals[label["genus"]] = totals.get(label["genus"], 0.0) + float(probs[i])
    return sorted((Candidate(name, p) for name, p in totals.items()), key=lambda c: -c.probability)
