"""The Compare, Model cards and Dataset pages driven by Streamlit's AppTest with the shipped models and photos."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from champy.app_support import SAMPLE_PHOTOS_DIR, STUDY_BACKBONES, model_card, percent, photo_caption
from champy.inference import DEFAULT_MODEL, available_models
from champy.paths import PROJECT_ROOT, SHARED_DIR

PHOTO = SHARED_DIR / "data" / "photos" / "Boletus_edulis" / "lan_inat413356241.jpg"
RUN_TIMEOUT = 180


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    app.switch_page(f"app_pages/{page}")
    return app.run()


def trace_values(chart, trace: int, key: str) -> np.ndarray:
    """One array of a plotly trace as the browser receives it (plain list, or plotly's base64 typed array)."""
    value = json.loads(chart.proto.spec)["data"][trace][key]
    if isinstance(value, list):
        return np.array(value)
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return array.reshape([int(n) for n in value["shape"].split(",")]) if "shape" in value else array


def test_compare_runs_every_shipped_model_on_one_photo() -> None:
    app = open_page("compare.py")
    assert not app.exception
    metrics = app.dataframe[0].value
    assert metrics["model"].tolist() == available_models()
    default_card = model_card(DEFAULT_MODEL)
    assert metrics.loc[0, "top-1 (%)"] == round(100 * default_card["metrics"]["test"]["top1"], 1)
    shipped = {model_card(name)["backbone"] for name in available_models()}
    for backbone in set(STUDY_BACKBONES) - shipped:
        assert f"--backbone {backbone} --out models/{backbone}_species.h5" in app.code[0].value

    app.file_uploader(key="compare_photo").set_value((PHOTO.name, PHOTO.read_bytes(), "image/jpeg")).run()
    assert not app.exception
    agreement = app.dataframe[1].value
    assert agreement["model"].tolist() == available_models()
    assert agreement.loc[0, "top species"] == "Boletus edulis"
    assert agreement.loc[0, "agrees with first"]
    assert (agreement["time (ms)"] > 0).all()
    assert [image.captions for image in app.image] == [["Grad-CAM"]] * len(available_models())


def test_compare_rejects_a_corrupt_photo() -> None:
    app = open_page("compare.py")
    app.file_uploader(key="compare_photo").set_value(("broken.jpg", PHOTO.read_bytes()[:500], "image/jpeg")).run()
    assert not app.exception
    assert "broken.jpg" in app.error[0].value


def test_model_card_page_draws_the_card() -> None:
    app = open_page("model_cards.py")
    assert not app.exception
    assert app.selectbox(key="card_model").value == DEFAULT_MODEL
    card = model_card(DEFAULT_MODEL)
    assert app.metric[0].value == percent(card["metrics"]["test"]["top1"])
    charts = app.get("plotly_chart")
    assert len(charts) == 4  # accuracy, loss, per-class, confusion
    accuracy = trace_values(charts[0], 0, "y")
    assert np.allclose(accuracy, [row["accuracy"] for row in card["training"]["history"]])
    confusion = trace_values(charts[3], 0, "z")
    assert (confusion == np.array(card["metrics"]["test"]["confusion_matrix"])).all()

    app.toggle(key="normalise_confusion").set_value(True).run()
    shares = trace_values(app.get("plotly_chart")[3], 0, "z")
    supported = confusion.sum(axis=1) > 0
    assert np.allclose(shares[supported].sum(axis=1), 1.0)
    classes = app.dataframe[0].value
    assert len(classes) == len(card["labels"])


def test_dataset_page_shows_classes_and_credited_photos() -> None:
    app = open_page("dataset.py")
    assert not app.exception
    card = model_card(DEFAULT_MODEL)
    classes = app.dataframe[0].value
    assert sorted(classes["class"]) == sorted(label["name"] for label in card["labels"])
    assert classes["train"].sum() == card["split"]["counts"]["train"]

    catalogue = pd.read_csv(SAMPLE_PHOTOS_DIR / "photos.csv", dtype=str, keep_default_na=False)
    species = app.selectbox(key="sample_species").value
    assert species in set(classes["class"])  # the model's own classes come first
    shown = catalogue[catalogue["species"] == species]
    assert [image.captions for image in app.image] == [[photo_caption(row)] for _, row in shown.iterrows()]
    assert all(row["license"].startswith("CC") for _, row in catalogue.iterrows())
