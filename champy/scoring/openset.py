"""Open-set threshold: when to answer "unknown species" instead of naming one the model knows.

A score says how much a photo looks like a known species (from the calibrated probabilities); a photo
whose score falls below the threshold is answered "unknown". The threshold is the largest one that
flags at most a given share of known-species validation photos. Scores:
- "known_confidence": the highest probability among the known species;
- "known_margin": that, minus the probability of the pooled "other fungi" output;
- "not_other": one minus the probability of the pooled "other fungi" output (outlier exposure: the model
  was trained to put rare species there);
- "members_margin" (ensembles only): the ensemble's top known species, as each member sees it: the lowest, over the
  members, of that species' probability minus the "other fungi" probability (unknown as soon as one member doubts).
Which one a model uses is chosen on its validation split and recorded in its card.
"""

from __future__ import annotations

import numpy as np

OPEN_SET_SCORES = ("known_confidence", "known_margin", "not_other")
ENSEMBLE_SCORES = ("members_margin",)


def known_confidence(probs: np.ndarray, other_index: int | None) -> np.ndarray:
    """Highest probability among the known species (the pooled "other" output excluded)."""
    if other_index is None:
        return probs.max(axis=-1)
    return np.delete(probs, other_index, axis=-1).max(axis=-1)


def members_margin(probs: np.ndarray, members: np.ndarray, other_index: int) -> np.ndarray:
    """The lowest member margin (probability of the ensemble's top known species minus "other fungi") per row;
    `members` holds each member's calibrated probabilities, shape (members, rows, classes)."""
    known = np.delete(np.arange(probs.shape[-1]), other_index)
    top = known[np.delete(probs, other_index, axis=-1).argmax(axis=-1)]
    rows = np.arange(probs.shape[0])
    return (members[:, rows, top] - members[:, :, other_index]).min(axis=0)


def open_set_score(
    probs: np.ndarray, other_index: int | None, score: str = "known_confidence", members: np.ndarray | None = None
) -> np.ndarray:
    """The open-set `score` (see the module docstring) of each row of calibrated probabilities; `members` (each
    member's calibrated probabilities, shape (members, rows, classes)) is needed for an ensemble's score."""
    if score in ENSEMBLE_SCORES:
        if members is None or other_index is None:
            raise ValueError(f"the open-set score {score!r} needs an ensemble's member probabilities and 'other fungi'")
        return members_margin(probs, members, other_index)
    if score not in OPEN_SET_SCORES:
        choices = ", ".join(OPEN_SET_SCORES + ENSEMBLE_SCORES)
        raise ValueError(f"unknown open-set score {score!r}; choose one of {choices}")
    confidence = known_confidence(probs, other_index)
    if other_index is None or score == "known_confidence":
        return confidence
    other = probs[..., other_index]
    return confidence - other if score == "known_margin" else 1.0 - other


def choose_threshold(known_scores: np.ndarray, max_flagged: float) -> float:
    """The largest threshold that flags at most `max_flagged` of `known_scores` (flag: score < threshold)."""
    ordered = np.sort(known_scores)
    allowed = int(np.floor(max_flagged * len(ordered)))
    return float(ordered[allowed]) if allowed < len(ordered) else 1.0


def flagged_share(scores: np.ndarray, threshold: float) -> float | None:
    """Share of photos answered "unknown" at `threshold` (None for an empty set)."""
    return float(np.mean(scores < threshold)) if len(scores) else None


RULES = {
    "known_confidence": "answer 'unknown' when the top known-species probability (calibrated) is below the threshold",
    "known_margin": "answer 'unknown' when the top known-species probability minus the 'other fungi' probability "
    "(calibrated) is below the threshold",
    "not_other": "answer 'unknown' when one minus the 'other fungi' probability (calibrated) is below the threshold",
    "members_margin": "answer 'unknown' when, for some member, the probability of the ensemble's top known species "
    "minus the 'other fungi' probability (calibrated) is below the threshold",
}


def open_set_section(
    val_cal: np.ndarray,
    val_labels: np.ndarray,
    test_cal: np.ndarray,
    test_labels: np.ndarray,
    other_index: int | None,
    max_known_flagged: float,
    members: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """The card's open-set section: every score's threshold and figures, and the one that flags the most unseen
    validation species (at most `max_known_flagged` of known validation photos flagged), chosen on validation only.

    `members`: an ensemble's member probabilities on validation and test (adds the ensemble's scores)."""
    known_val, known_test = val_labels != other_index, test_labels != other_index
    compared = {}
    scores = OPEN_SET_SCORES + (ENSEMBLE_SCORES if members is not None else ())
    val_members, test_members = members if members is not None else (None, None)
    for score in scores if other_index is not None else ("known_confidence",):
        val_scores = open_set_score(val_cal, other_index, score, val_members)
        test_scores = open_set_score(test_cal, other_index, score, test_members)
        threshold = choose_threshold(val_scores[known_val], max_known_flagged)
        compared[score] = {
            "unknown_threshold": threshold,
            "val_unseen_species_flagged": flagged_share(val_scores[~known_val], threshold),
            "test_known_flagged": flagged_share(test_scores[known_test], threshold),
            "test_unseen_species_flagged": flagged_share(test_scores[~known_test], threshold),
        }
    best = max(compared, key=lambda score: compared[score]["val_unseen_species_flagged"] or 0.0)
    return {
        "score": best,
        "unknown_threshold": compared[best]["unknown_threshold"],
        "rule": RULES[best],
        "chosen_on": f"validation split: at most {max_known_flagged:.0%} of known-species photos flagged; the score "
        "flagging the most unseen validation species",
        "test_known_flagged": compared[best]["test_known_flagged"],
        "test_unseen_species_flagged": compared[best]["test_unseen_species_flagged"],
        "test_unseen_species_photos": int((~known_test).sum()),
        "val_unseen_species_photos": int((~known_val).sum()),
        "compared": compared,
    }
