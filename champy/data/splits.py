"""Deterministic stratified train/val/test splits keyed by a stable id (e.g. GBIF's `gbifID`)."""

from __future__ import annotations

import hashlib

import pandas as pd

SPLITS = ("train", "val", "test")


def _rank_key(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def stratified_split(
    keys: pd.Series, labels: pd.Series, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 42
) -> pd.Series:
    """Assign each row to "train", "val" or "test", class by class.

    Rows are ordered by a hash of (seed, key), so the assignment of a row never depends on the
    order of the input or on the other rows' keys beyond its class size. A class with at least
    three rows gets at least one validation and one test row; smaller classes go to train.
    """
    if len(keys) != len(labels):
        raise ValueError("keys and labels must have the same length")
    if abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions must be non-negative and sum to 1, got {fractions}")
    frame = pd.DataFrame({"key": keys.astype(str).to_numpy(), "label": labels.astype(str).to_numpy()}, index=keys.index)
    frame["order"] = [_rank_key(k, seed) for k in frame["key"]]
    result = pd.Series("train", index=keys.index, dtype=object)
    for _, group in frame.groupby("label", sort=True):
        ordered = group.sort_values(["order", "key"]).index
        n = len(ordered)
        if n < 3:
            continue
        n_test = max(1, round(fractions[2] * n))
        n_val = max(1, round(fractions[1] * n))
        result.loc[ordered[:n_test]] = "test"
        result.loc[ordered[n_test : n_test + n_val]] = "val"
    return result
