"""The values of a model card that answers and pages compute with, checked before any is used.

A card is read from a file anyone with write access to `models/` can change: a temperature of 0 or NaN, an
`other_index` outside the labels or an unknown open-set score would break every answer (or invert the ranking), and a
figure that is not a number would break the pages that show it. `value_problems` names each such value.
"""

from __future__ import annotations

import math
import re
from typing import Any

from champy.scoring.openset import ENSEMBLE_SCORES, OPEN_SET_SCORES

INPUT_SIZES = range(32, 1025)
"""Square input sides a network may take (pixels)."""
TEMPERATURES = (0.01, 100.0)
"""The calibration temperatures a card may hold: above 0 and far from overflowing the softmax."""
BACKBONE_NAME = re.compile(r"[a-z0-9_]{1,64}")
PLAIN_NAME = re.compile(r"(?:[^\W_]|[ ,()'-]){1,80}")
"""A name the pages write into markdown as it is: letters, digits, spaces and a few marks, no markup."""
SPREAD_KEYS = ("mean", "sd", "min", "max")
SHARE_KEYS = ("top1", "top3", "top5")
"""The test figures read as shares of photos (0..1)."""


def _number(value: Any) -> bool:
    """A finite int or float (a JSON bool is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_share(value: Any) -> bool:
    """A finite number in [0, 1] (a JSON bool is not one)."""
    return _number(value) and 0.0 <= value <= 1.0


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _test_metrics_problems(test: Any, classes: int, where: str, full: bool) -> list[str]:
    if not isinstance(test, dict):
        return [f"{where} is not an object"]
    problems = [
        f"{where}.{key} is not a share in [0, 1]" for key in SHARE_KEYS if key in test and not is_share(test[key])
    ]
    if "n" in test and not _count(test["n"]):
        problems.append(f"{where}.n is not a photo count")
    if not full:
        return problems
    per_class = test.get("per_class")
    if not isinstance(per_class, list) or not all(
        isinstance(row, dict)
        and isinstance(row.get("name"), str)
        and all(row.get(key) is None or is_share(row.get(key)) for key in ("precision", "recall"))  # None: no photo
        and _count(row.get("support"))
        for row in per_class
    ):
        problems.append(f"{where}.per_class is not a list of name, precision, recall and support")
    matrix = test.get("confusion_matrix")
    if not (
        isinstance(matrix, list)
        and len(matrix) == classes
        and all(isinstance(row, list) and len(row) == classes and all(_count(n) for n in row) for row in matrix)
    ):
        problems.append(f"{where}.confusion_matrix is not {classes} x {classes} photo counts")
    return problems


def _section_problems(card: dict) -> list[str]:
    """Problems of the optional calibration and open-set sections, and of the figures they record."""
    problems = []
    calibration, open_set = card.get("calibration", {}), card.get("open_set", {})
    if not isinstance(calibration, dict):
        return ["'calibration' is not an object"]
    if not isinstance(open_set, dict):
        return ["'open_set' is not an object"]
    temperature = calibration.get("temperature", 1.0)
    low, high = TEMPERATURES
    if not _number(temperature) or not low <= temperature <= high:
        problems.append(f"calibration.temperature must be a number in [{low}, {high}], not {temperature!r}")
    problems += [
        f"calibration.{key} is not a number"
        for key, value in calibration.items()
        if key != "temperature" and key.startswith("test_") and value is not None and not _number(value)
    ]
    score = open_set.get("score", "known_confidence")
    if score not in OPEN_SET_SCORES + ENSEMBLE_SCORES:
        problems.append(f"open_set.score {score!r} is not one of {', '.join(OPEN_SET_SCORES + ENSEMBLE_SCORES)}")
    if not _number(open_set.get("unknown_threshold", 0.0)):
        problems.append("open_set.unknown_threshold is not a finite number")
    problems += [
        f"open_set.{key} is not a number"
        for key, value in open_set.items()
        if key.startswith("test_") and value is not None and not _number(value)  # None: no such test photo
    ]
    return problems


def _study_problems(card: dict) -> list[str]:
    """Problems of the optional sections the Model cards page draws as tables: `cross_source` (plain group names,
    figures that are numbers) and `evaluation_over_splits` (spreads of numbers, photo counts)."""
    problems = []
    cross = card.get("cross_source")
    if cross is not None:
        groups = cross.get("groups") if isinstance(cross, dict) else None
        if not isinstance(groups, dict) or not all(
            isinstance(name, str)
            and PLAIN_NAME.fullmatch(name)
            and isinstance(row, dict)
            and all(value is None or _number(value) for value in row.values())
            for name, row in groups.items()
        ):
            problems.append("cross_source.groups is not plain group names with figures")
    splits = card.get("evaluation_over_splits")
    if splits is not None:
        spreads = (
            [*splits.get("figures", {}).values(), splits.get("best_member_top1")] if isinstance(splits, dict) else []
        )
        counts = [splits.get(key) for key in ("test_known_photos", "test_unseen_photos")] if spreads else []
        if not (
            spreads
            and all(isinstance(s, dict) and all(_number(s.get(key)) for key in SPREAD_KEYS) for s in spreads)
            and all(isinstance(c, list) and c and all(_count(n) for n in c) for c in counts)
            and isinstance(splits.get("seeds"), list)
            and is_share(splits.get("max_known_flagged"))
        ):
            problems.append("evaluation_over_splits is not spreads of figures over seeds with photo counts")
    return problems


def value_problems(card: dict) -> list[str]:
    """Every value of a card (already of the right top-level shape) that an answer or a page cannot use."""
    problems = []
    classes = len(card["labels"])
    if not BACKBONE_NAME.fullmatch(card["backbone"]):
        problems.append(f"backbone {card['backbone'][:40]!r} is not a backbone name")
    size = card["input"].get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size not in INPUT_SIZES:
        problems.append(f"input.size must be a whole number of pixels from {INPUT_SIZES[0]} to {INPUT_SIZES[-1]}")
    for i, label in enumerate(card["labels"]):
        if isinstance(label, dict) and not all(isinstance(label.get(key), str) for key in ("name", "genus")):
            problems.append(f"label {i}'s name and genus are not text")
    other = card.get("other_index")
    if other is not None and (not isinstance(other, int) or isinstance(other, bool) or not 0 <= other < classes):
        problems.append(f"other_index must be a class index below {classes} (or null), not {other!r}")
    problems += _section_problems(card)
    metrics = card["metrics"]
    if "test" not in metrics:
        problems.append("metrics lacks the test figures")
    else:
        problems += _test_metrics_problems(metrics["test"], classes, "metrics.test", full=True)
    if "test_known_species_only" in metrics:
        known = metrics["test_known_species_only"]
        problems += _test_metrics_problems(known, classes, "metrics.test_known_species_only", full=False)
    problems += _study_problems(card)
    counts = card["split"].get("counts", {})
    if not isinstance(counts, dict) or not all(_count(n) for n in counts.values()):
        problems.append("split.counts is not photo counts by split")
    return problems
