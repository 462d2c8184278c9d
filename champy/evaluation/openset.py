"""Open-set threshold: when to answer "unknown species" instead of naming one the model knows.

The score is the highest probability among the known species (after temperature scaling); a photo
whose score falls below the threshold is answered "unknown". The threshold is the largest one that
flags at most a given share of known-species validation photos.
"""

from __future__ import annotations

import numpy as np


def known_confidence(probs: np.ndarray, other_index: int | None) -> np.ndarray:
    """Highest probability among the known species (the pooled "other" output excluded)."""
    if other_index is None:
        return probs.max(axis=-1)
    return np.delete(probs, other_index, axis=-1).max(axis=-1)


def choose_threshold(known_scores: np.ndarray, max_flagged: float) -> float:
    """The largest threshold that flags at most `max_flagged` of `known_scores` (flag: score < threshold)."""
    ordered = np.sort(known_scores)
    allowed = int(np.floor(max_flagged * len(ordered)))
    return float(ordered[allowed]) if allowed < len(ordered) else 1.0


def flagged_share(scores: np.ndarray, threshold: float) -> float | None:
    """Share of photos answered "unknown" at `threshold` (None for an empty set)."""
    return float(np.mean(scores < threshold)) if len(scores) else None
