"""From a labelled table to training classes: known classes, the pooled "other" class, splits, weights."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from champy.data.splits import SPLITS, stratified_split
from champy.errors import ChampyError

OTHER_LABEL = "other fungi"


@dataclass
class PreparedData:
    """Rows with `label_index` and `split`, and the label descriptions in output order."""

    table: pd.DataFrame
    labels: list[dict]
    other_index: int | None

    def rows(self, split: str) -> pd.DataFrame:
        return self.table[self.table["split"] == split]


def _species_split(species: pd.Series, seed: int) -> pd.Series:
    """Split rare species as whole species (so validation and test species are never seen)."""
    names = sorted(species.unique())
    order = sorted(names, key=lambda n: hashlib.sha256(f"{seed}:{n}".encode()).hexdigest())
    n_val = n_test = max(1, len(order) // 4) if len(order) >= 3 else 0
    assignment = dict.fromkeys(order[:n_test], "test")
    assignment.update(dict.fromkeys(order[n_test : n_test + n_val], "val"))
    return species.map(lambda n: assignment.get(n, "train"))


def prepare(table: pd.DataFrame, min_per_class: int, other_class: bool, seed: int) -> PreparedData:
    """Choose the classes, split every row and describe the labels.

    Classes with at least `min_per_class` images become outputs; with `other_class`, the rest are
    pooled into one "other fungi" output, split by species so that the open-set figures are
    measured on species the model never saw.
    """
    counts = table["label"].value_counts()
    known = sorted(counts[counts >= min_per_class].index)
    if len(known) < 2:
        raise ChampyError(f"need at least 2 classes with {min_per_class}+ images, found {len(known)}")
    is_known = table["label"].isin(known)
    kept = table[is_known].copy()
    if "split" not in kept.columns or not kept["split"].isin(SPLITS).all():
        kept["split"] = stratified_split(kept["id"], kept["label"], seed=seed)
    kept["label_index"] = kept["label"].map({name: i for i, name in enumerate(known)})
    labels = []
    for name in known:
        rows = kept[kept["label"] == name]
        first = rows.iloc[0]
        labels.append({"name": name, "genus": first["genus"], "family": first["family"], "order": first["order"]})
    other_index = None
    rare = table[~is_known]
    if other_class and rare["label"].nunique() >= 3:
        other_index = len(known)
        rare = rare.copy()
        rare["split"] = _species_split(rare["label"], seed)
        rare["label_index"] = other_index
        kept = pd.concat([kept, rare], ignore_index=True)
        labels.append(
            {
                "name": OTHER_LABEL,
                "genus": "",
                "family": "",
                "order": "",
                "pooled_species": int(rare["label"].nunique()),
            }
        )
    for label in labels:
        rows = kept[kept["label_index"] == labels.index(label)]
        label["count"] = {split: int((rows["split"] == split).sum()) for split in SPLITS}
    return PreparedData(kept.reset_index(drop=True), labels, other_index)


def class_weights(label_index: np.ndarray, num_classes: int, scheme: str = "balanced") -> dict[int, float]:
    """Per-class loss weights, normalised to a mean of 1 per image.

    "balanced": n / (classes * count), so every class weighs the same; "sqrt": the square root of
    that, half-way between balanced and unweighted; "none": all 1.
    """
    if scheme not in ("balanced", "sqrt", "none"):
        raise ValueError(f"unknown class weighting {scheme!r}")
    counts = np.bincount(label_index, minlength=num_classes).astype(float)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = len(label_index) / (present.sum() * counts[present])
    if scheme == "none":
        weights[present] = 1.0
    elif scheme == "sqrt":
        weights[present] = np.sqrt(weights[present])
        weights *= len(label_index) / (weights[label_index]).sum()
    return {i: float(w) for i, w in enumerate(weights)}


def file_list_hash(table: pd.DataFrame, root: str) -> str:
    """SHA-256 of the sorted (relative path, label, split) list: identifies the exact training data."""
    lines = sorted(
        f"{p.removeprefix(root).lstrip('/')}\t{label}\t{s}"
        for p, label, s in zip(table["path"], table["label"], table["split"])
    )
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
