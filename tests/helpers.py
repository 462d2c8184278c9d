"""Shared test data: the curated photo collection beside the project, split as the trainer splits it.

The collection lives in the shared data folder; a test that asks for it skips (one-line reason) when it is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from locations import BOLETUS_PHOTO, FIXTURE_NOT_FUNGI, SHARED_NOT_FUNGI, SHARED_PHOTOS, shared_missing

from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.inference import identify
from champy.inference.ensemble import Model
from champy.inference.model import DEFAULT_MODEL, read_model_card
from champy.paths import PROJECT_ROOT


def shared_photos() -> Path:
    """The curated photo collection (`<Genus_species>/*.jpg`); skips the calling test when it is absent."""
    if not SHARED_PHOTOS.is_dir():
        pytest.skip(shared_missing(SHARED_PHOTOS))
    return SHARED_PHOTOS


@lru_cache(maxsize=1)
def default_split() -> pd.DataFrame:
    """The curated photos with the split the shipped default model was trained with (read from its card)."""
    config = read_model_card(DEFAULT_MODEL)["training"]["config"]
    return prepare(load_labelled(shared_photos()), config["min_per_class"], config["other_class"], config["seed"]).table


def held_out_photos(species: str, n: int) -> list[str]:
    """Up to `n` held-out (test split) photos of `species`, in a stable order."""
    rows = default_split()
    rows = rows[(rows["split"] == "test") & (rows["label"] == species)]
    return sorted(rows["path"])[:n]


def first_low_photo(model: Model) -> tuple[str, str]:
    """The first test-split photo (in a stable order) that `model` answers at level "low", and its species."""
    rows = default_split()
    rows = rows[(rows["split"] == "test") & (rows["label_index"] != rows["label_index"].max())]
    for path, species in sorted(zip(rows["path"], rows["species"])):
        if identify(path, model, explain=False).risk.level == "low":
            return path, species
    raise AssertionError(f"{model.name} answers no test photo at level low")


def unseen_species_photos(n: int) -> list[str]:
    """Up to `n` test-split photos of rare species pooled as "other fungi" (never trained on)."""
    rows = default_split()
    other = rows["label_index"].max()
    rows = rows[(rows["split"] == "test") & (rows["label_index"] == other)]
    return sorted(rows["path"])[:n]


def not_fungi_photos() -> list[Path]:
    """Photos that show no fungus: the shared folder's 24 when present, else the 13 in tests/fixtures."""
    folder = SHARED_NOT_FUNGI if SHARED_NOT_FUNGI.is_dir() else FIXTURE_NOT_FUNGI
    return sorted(folder.glob("*.jpg"))


def printed_json(script: str, args: list[str], env: dict[str, str], timeout: float) -> Any:
    """The JSON that `script` prints last, run with `args` by a fresh Python in the project, `env` added to ours."""
    run = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def every_page_report(script: str, models: Path, scratch: Path) -> dict:
    """The JSON that `script` (run with the app's path and a cep photo, typically an AppTest of every page) prints
    last, with the models in `models` and GBIF unreachable (its cache in `scratch`)."""
    env = {
        "CHAMPY_MODELS_DIR": str(models),
        "CHAMPY_GBIF_API": "http://127.0.0.1:9",
        "CHAMPY_GBIF_CACHE": str(scratch / "gbif"),
    }
    return printed_json(script, [str(PROJECT_ROOT / "app.py"), str(BOLETUS_PHOTO)], env, timeout=900)
