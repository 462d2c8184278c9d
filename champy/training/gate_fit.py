"""Fitting the mushroom gate: L2-regularised, class-balanced logistic regression (Newton's method).

Every figure is measured on held-out sources: the photos are split into folds by whole source (one
class folder of one repository for the negatives, one species for the mushrooms), so a fold's photos
are scored by a gate that never saw their source. The threshold is the highest one that rejects at
most `max_mushrooms_rejected` of the mushroom photos by those out-of-fold scores; the file written
records the rejection rate of every negative category measured the same way, so the app can say how
often the gate is wrong. The mushroom photos are the training and validation splits of the labelled folder
(`gate_positives`): the test split the species models are measured on never fits the gate either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from champy.atomic import write_json
from champy.data.labelled import IMAGE_SUFFIXES
from champy.data.prepare import prepare
from champy.image_batch import load_images
from champy.inference.gate import DEFAULT_GATE_BACKBONE, GateParams, gate_features, gate_input_size

NEGATIVES_TABLE = "negatives.csv"
SPLIT_FOLDERS = {"train", "val", "valid", "validation", "test"}
SMALL_CREATURES = ("slug", "snail", "earthworm")
SMALL_CREATURES_CATEGORY = "slug, snail or worm"
HARD_CATEGORIES = frozenset(
    {"flower", "plant", "leaf", "texture", "rock", "food", "herbarium", SMALL_CREATURES_CATEGORY}
)
"""Negatives a mushroom photo is easily mistaken for (the rest are everyday photos)."""
FOLDS = 5


def source_group(source: str) -> str:
    """The source a negative photo comes from: its repository or package and its class folder.

    `owner/repo@commit dataset/train/daisy/x.jpg` -> `owner/repo:dataset/daisy` (train/val/test folders of one
    class are one source).
    """
    origin, _, path = source.partition(" ")
    origin = origin.split("@")[0].split("==")[0]
    folders = [part for part in path.split("/")[:-1] if part.lower() not in SPLIT_FOLDERS]
    return f"{origin}:{'/'.join(folders)}"


def negative_photos(folder: Path) -> pd.DataFrame:
    """(path, category, group) of a folder of non-fungi photos.

    With a `negatives.csv` (path, category, source), categories and sources come from it, and slugs, snails and
    earthworms form their own category; otherwise every image is its own source, categorised by the folder's name.
    """
    table_path = folder / NEGATIVES_TABLE
    if not table_path.is_file():
        images = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return pd.DataFrame({"path": images, "category": folder.name, "group": images})
    table = pd.read_csv(table_path, dtype=str, keep_default_na=False)
    groups = [source_group(source) for source in table["source"]]
    small = [any(word in group.lower() for word in SMALL_CREATURES) for group in groups]
    return pd.DataFrame(
        {
            "path": [str(folder / p) for p in table["path"]],
            "category": np.where(small, SMALL_CREATURES_CATEGORY, table["category"]),
            "group": groups,
        }
    )


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 25) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression minimising sum(w_i * loss_i) + l2/2 * |coef|^2."""
    n, d = x.shape
    sample_weight = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum())))
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the intercept is not regularised
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (sample_weight * (p - y)) + penalty * beta
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def fit_params(features: np.ndarray, y: np.ndarray, l2: float, threshold: float = 0.5) -> GateParams:
    """A gate fitted on `features` (standardised with their own mean and spread)."""
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    coef, intercept = fit_logistic((features - mean) / scale, y, l2)
    return GateParams(mean, scale, coef, intercept, threshold)


def source_folds(category: np.ndarray, group: np.ndarray, folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """A fold per photo such that each source lies in one fold, and each category's sources spread over the folds."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(group), int)
    for name in np.unique(category):
        sources = rng.permutation(np.unique(group[category == name]))
        offset = int(rng.integers(folds))
        for i, source in enumerate(sources):
            fold[group == source] = (i + offset) % folds
    return fold


def held_out_logits(features: np.ndarray, y: np.ndarray, fold: np.ndarray, l2: float) -> np.ndarray:
    """Each photo's gate logit from a gate fitted on the other folds."""
    logits = np.empty(len(y))
    for k in np.unique(fold):
        logits[fold == k] = fit_params(features[fold != k], y[fold != k], l2).logit(features[fold == k])
    return logits


def measure(
    features: np.ndarray,
    y: np.ndarray,
    category: np.ndarray,
    group: np.ndarray,
    l2: float,
    max_mushrooms_rejected: float,
) -> tuple[float, dict]:
    """(threshold, figures) from out-of-fold scores over held-out sources."""
    logits = held_out_logits(features, y, source_folds(category, group), l2)
    mushrooms = np.sort(logits[y == 1])
    threshold_logit = mushrooms[int(np.floor(max_mushrooms_rejected * len(mushrooms)))]
    rejected = logits < threshold_logit
    negative = y == 0
    hard = negative & np.isin(category, list(HARD_CATEGORIES))
    figures = {
        "method": f"{FOLDS}-fold cross-validation over whole sources (one repository's class folder; one species "
        "for the mushrooms): every photo scored by a gate fitted without its source",
        "mushroom_photos": int(y.sum()),
        "mushrooms_rejected": float(rejected[y == 1].mean()),
        "non_mushroom_photos": int(negative.sum()),
        "non_mushrooms_rejected": float(rejected[negative].mean()),
        "everyday_rejected": float(rejected[negative & ~hard].mean()) if (negative & ~hard).any() else None,
        "hard_rejected": float(rejected[hard].mean()) if hard.any() else None,
        "hard_categories": sorted(HARD_CATEGORIES),
        "per_category": {
            name: {
                "photos": int((category == name).sum()),
                "sources": int(len(np.unique(group[category == name]))),
                "rejected": float(rejected[category == name].mean()),
            }
            for name in np.unique(category[negative])
        },
    }
    return float(1.0 / (1.0 + np.exp(-threshold_logit))), figures


def gate_positives(photos: pd.DataFrame, min_per_class: int, other_class: bool, seed: int) -> pd.DataFrame:
    """The mushroom photos the gate is fitted on: the training and validation splits of a labelled folder as
    `champy train` splits it with these settings; its test split stays unseen by the gate too."""
    table = prepare(photos, min_per_class, other_class, seed).table
    return table[table["split"].isin(["train", "val"])].reset_index(drop=True)


def fit_gate(
    positives: pd.DataFrame,
    negatives: pd.DataFrame,
    out: Path,
    backbone: str = DEFAULT_GATE_BACKBONE,
    l2: float = 300.0,
    max_mushrooms_rejected: float = 0.02,
    fitted_on: str = "",
) -> dict:
    """Fit the gate on mushroom photos (path, species) and non-mushroom photos (path, category, group); write `out`
    (with `fitted_on`, which photos the mushrooms are)."""
    paths = list(positives["path"]) + list(negatives["path"])
    features = gate_features(load_images(paths, gate_input_size(backbone)), backbone).astype(np.float64)
    y = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
    category = np.r_[np.full(len(positives), "mushroom"), negatives["category"].to_numpy(str)]
    group = np.r_[("species:" + positives["species"]).to_numpy(str), negatives["group"].to_numpy(str)]
    threshold, figures = measure(features, y, category, group, l2, max_mushrooms_rejected)
    params = fit_params(features, y, l2, threshold)
    report = {
        "model": f"logistic regression on the standardised pooled features of the shipped ImageNet {backbone}",
        "backbone": backbone,
        "mean": params.mean.tolist(),
        "scale": params.scale.tolist(),
        "coef": params.coef.tolist(),
        "intercept": params.intercept,
        "threshold": threshold,
        "l2": l2,
        "fitted_on": fitted_on,
        "measured": figures,
    }
    write_json(out, report)
    return report
