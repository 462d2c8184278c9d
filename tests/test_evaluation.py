"""`champy evaluate` on the photos shipped in the repository: the held-out test split by default, and it says so."""

from __future__ import annotations

import pandas as pd
import pytest
from locations import SAMPLE_PHOTOS

from champy.cli import main
from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.errors import ChampyError
from champy.evaluation.evaluate_model import split_rows, trained_on
from champy.inference import load_model

MODEL = "mobilenet_v2_species"


def test_evaluate_scores_the_test_split_recorded_with_the_sample_photos(capsys):
    assert main(["evaluate", "--model", MODEL, "--data", str(SAMPLE_PHOTOS)]) == 0
    lines = capsys.readouterr().out.splitlines()
    model = load_model(MODEL)
    known = {label["name"] for i, label in enumerate(model.labels) if i != model.other_index}
    catalogue = pd.read_csv(SAMPLE_PHOTOS / "photos.csv")
    test = catalogue[catalogue["split"] == "test"]
    n_known = int(test["species"].isin(known).sum())
    assert lines[0] == (
        f"{MODEL} on the test split of {SAMPLE_PHOTOS} (as recorded with the photos): "
        f"{n_known} photos of known species, {len(test) - n_known} of unseen species"
    )
    assert lines[1].startswith("top-1 ") and "unseen species answered 'unknown'" in lines[1]
    assert 0 < n_known < int(catalogue["species"].isin(known).sum())  # training photos are left out


def test_split_rows_keep_a_recorded_split_and_name_their_source():
    table = load_labelled(SAMPLE_PHOTOS)
    every, source = split_rows(table, "all", {})
    assert len(every) == len(table) and source == "every photo, training photos included"
    val, source = split_rows(table, "val", {})
    assert set(val["split"]) == {"val"} and len(val) == int((table["split"] == "val").sum())
    assert source == "as recorded with the photos"
    with pytest.raises(ChampyError, match="need at least 2 classes"):  # too few photos to split as the trainer did
        split_rows(table.drop(columns="split"), "test", {"min_per_class": 15})
    with pytest.raises(ChampyError, match="split must be one of"):
        split_rows(table, "holdout", {})


def test_on_its_own_training_folder_a_model_is_scored_on_the_trainer_split():
    table = load_labelled(SAMPLE_PHOTOS, "genus")
    config = {"min_per_class": 4, "other_class": True, "seed": 42}
    trainer, source = split_rows(table, "test", config, trained_here=True)
    assert source == "split as the trainer split it"
    expected = prepare(table, 4, True, 42).rows("test")
    assert sorted(trainer["path"]) == sorted(expected["path"])
    recorded, _ = split_rows(table, "test", config)
    assert sorted(recorded["path"]) != sorted(expected["path"])  # the pooled species split differently
    assert trained_on({"data": {"source": str(SAMPLE_PHOTOS)}}, SAMPLE_PHOTOS)
    assert not trained_on({"data": {"source": "../shared/data/photos"}}, SAMPLE_PHOTOS)
