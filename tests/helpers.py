"""Shared test data: the curated photo collection beside the project, split as the trainer splits it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from champy.data.labelled import load_labelled
from champy.inference.model import DEFAULT_MODEL
from champy.models.card import read_card
from champy.paths import MODELS_DIR, SHARED_DIR
from champy.training.prepare import prepare

PHOTOS = SHARED_DIR / "data" / "photos"
NOT_FUNGI = SHARED_DIR / "data" / "not_fungi"


@lru_cache(maxsize=1)
def default_split() -> pd.DataFrame:
    """The curated photos with the split the shipped default model was trained with (read from its card)."""
    config = read_card(MODELS_DIR / f"{DEFAULT_MODEL}.json")["training"]["config"]
    return prepare(load_labelled(PHOTOS), config["min_per_class"], config["other_class"], config["seed"]).table


def held_out_photos(species: str, n: int) -> list[str]:
    """Up to `n` held-out (test split) photos of `species`, in a stable order."""
    rows = default_split()
    rows = rows[(rows["split"] == "test") & (rows["label"] == species)]
    return sorted(rows["path"])[:n]


def unseen_species_photos(n: int) -> list[str]:
    """Up to `n` test-split photos of rare species pooled as "other fungi" (never trained on)."""
    rows = default_split()
    other = rows["label_index"].max()
    rows = rows[(rows["split"] == "test") & (rows["label_index"] == other)]
    return sorted(rows["path"])[:n]


def not_fungi_photos() -> list[Path]:
    return sorted(NOT_FUNGI.glob("*.jpg"))
