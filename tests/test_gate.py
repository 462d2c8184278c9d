"""The mushroom gate: fitted on broad negatives, measured on sources it never saw.

The broad negatives (`not_fungi_broad`) may be used to fit and test only: nothing here copies or shows them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import default_split
from locations import SHARED_DIR, SHARED_NOT_FUNGI, SHARED_PHOTOS, needs_shared

from champy.data.labelled import load_labelled
from champy.image_batch import load_images
from champy.inference.gate import GATE_INPUT_SIZE, gate_features, gate_file, has_gate
from champy.paths import PROJECT_ROOT
from champy.training.gate_fit import (
    HARD_CATEGORIES,
    SMALL_CREATURES_CATEGORY,
    fit_params,
    gate_positives,
    negative_photos,
    source_folds,
    source_group,
)

BROAD = SHARED_DIR / "data" / "not_fungi_broad"
# Floors from the held-out measurement of the shipped gates (5 folds over whole sources, 2 % of mushrooms rejected):
# everyday photos 99.5-99.9 % rejected, hard negatives 95.4-96.9 % (fitted on the training and validation splits).
EVERYDAY_FLOOR = 0.99
HARD_FLOOR = 0.94


def test_a_source_is_a_repository_class_folder_across_its_splits():
    train = source_group("Oldpel/flower_photos@140ff6f dataset/train/daisy/1.jpg")
    assert (
        train
        == source_group("Oldpel/flower_photos@0000000 dataset/val/daisy/2.jpg")
        == "Oldpel/flower_photos:dataset/daisy"
    )
    assert source_group("scikit-image==0.26.0 skimage/data/brick.png") == "scikit-image:skimage/data"


@needs_shared(BROAD)
def test_broad_negatives_have_categories_sources_and_small_creatures():
    negatives = negative_photos(BROAD)
    assert len(negatives) == 2035 and negatives["category"].nunique() >= 12
    small = negatives[negatives["category"] == SMALL_CREATURES_CATEGORY]
    assert len(small) >= 100 and small["group"].str.contains("slug").any()
    fold = source_folds(negatives["category"].to_numpy(str), negatives["group"].to_numpy(str))
    for _, rows in negatives.assign(fold=fold).groupby("group"):
        assert rows["fold"].nunique() == 1  # a source is never split between folds


@pytest.mark.parametrize("backbone", ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_shipped_gate_records_its_held_out_rejection_per_category(backbone):
    assert has_gate(backbone)
    gate = json.loads(gate_file(backbone).read_text(encoding="utf-8"))
    measured = gate["measured"]
    assert measured["non_mushroom_photos"] >= 2000 and measured["mushrooms_rejected"] <= 0.021
    assert measured["everyday_rejected"] >= EVERYDAY_FLOOR and measured["hard_rejected"] >= HARD_FLOOR
    categories = measured["per_category"]
    assert set(HARD_CATEGORIES) <= set(categories) and all(row["sources"] >= 1 for row in categories.values())
    assert len(gate["coef"]) == len(gate["mean"]) == len(gate["scale"])


@pytest.mark.slow
@needs_shared(BROAD)
@needs_shared(SHARED_PHOTOS)
def test_gate_fitted_without_a_source_rejects_its_photos():
    """Refit on four folds of a sample, hold out the fifth's sources: the floors hold on photos never fitted on."""
    mushrooms = load_labelled(SHARED_PHOTOS).iloc[::3]
    negatives = negative_photos(BROAD).iloc[::2]
    features = gate_features(load_images(list(mushrooms["path"]) + list(negatives["path"]), GATE_INPUT_SIZE))
    y = np.r_[np.ones(len(mushrooms)), np.zeros(len(negatives))]
    category = np.r_[np.full(len(mushrooms), "mushroom"), negatives["category"].to_numpy(str)]
    group = np.r_[mushrooms["species"].to_numpy(str), negatives["group"].to_numpy(str)]
    held_out = source_folds(category, group) == 0
    gate = fit_params(features[~held_out], y[~held_out], l2=300.0)
    logits = gate.logit(features[held_out])
    kept_mushrooms = np.sort(logits[y[held_out] == 1])
    threshold = kept_mushrooms[int(0.02 * len(kept_mushrooms))]
    rejected = logits < threshold
    negative = y[held_out] == 0
    hard = negative & np.isin(category[held_out], list(HARD_CATEGORIES))
    assert negative.sum() >= 150 and hard.sum() >= 50
    assert rejected[negative & ~hard].mean() >= 0.97
    assert rejected[hard].mean() >= 0.90


@needs_shared(SHARED_PHOTOS)
def test_the_gate_fits_on_the_training_and_validation_splits_only():
    """The test split the models are measured on never fitted the gate either (split as champy train splits it)."""
    photos = load_labelled(SHARED_PHOTOS)
    positives = gate_positives(photos, 15, True, 42)
    split = default_split()
    test = set(split.loc[split["split"] == "test", "path"])
    assert len(test) == 301 and not test & set(positives["path"])
    assert len(positives) == len(photos) - len(test) == 1529
    for backbone in ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"):
        gate = json.loads(gate_file(backbone).read_text(encoding="utf-8"))
        assert gate["measured"]["mushroom_photos"] == len(positives), backbone
        assert gate["fitted_on"].startswith("the training and validation splits of photos (1529 of 1830 photos)")


def fit_gate_cli(negatives, *extra: str, timeout: int) -> subprocess.CompletedProcess:
    """`champy fit-gate` on the sample photos against `negatives`, run as a user would (two photos per species:
    classes from two photos)."""
    command = [sys.executable, "-m", "champy", "fit-gate", "--photos", str(PROJECT_ROOT / "data" / "sample_photos")]
    command += ["--negatives", str(negatives), "--min-per-class", "2", *extra]
    return subprocess.run(command, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=timeout)


@pytest.mark.slow
@needs_shared(SHARED_NOT_FUNGI)
def test_fit_gate_cli_writes_held_out_figures_per_category(tmp_path):
    out = tmp_path / "gate.json"
    done = fit_gate_cli(SHARED_NOT_FUNGI, "--out", str(out), timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["measured"]["per_category"]["not_fungi"]["photos"] == 24
    assert report["measured"]["mushroom_photos"] == 225  # 294 sample photos less the 69 of their test split
    assert report["fitted_on"].startswith("the training and validation splits of sample_photos (225 of 294 photos)")
    assert "not_fungi: " in done.stdout and 0.0 < report["threshold"] < 1.0


def test_fit_gate_cli_refuses_a_missing_negatives_folder(tmp_path):
    done = fit_gate_cli(tmp_path / "absent", timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "absent" in done.stderr
