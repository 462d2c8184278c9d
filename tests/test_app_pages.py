"""The Compare, Model cards and Dataset pages driven by Streamlit's AppTest with the shipped models and photos."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
from locations import BOLETUS_PHOTO
from streamlit.testing.v1 import AppTest

from champy.card_sections import Confusion, dangerous_confusions
from champy.inference import DEFAULT_MODEL, available_models
from champy.paths import PROJECT_ROOT
from champy.photo_gallery import GALLERY_FOLDERS, licensed_photos
from champy_app.risk_style import RISK_STYLES
from champy_app.support import STUDY_BACKBONES, as_text, model_card, percent, photo_caption
from champy_app.wording import model_label

PHOTO = BOLETUS_PHOTO
RUN_TIMEOUT = 180


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    app.switch_page(f"pages/{page}")
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
    labels = [model_label(name, model_card(name)["backbone"]) for name in available_models()]
    table = next(text.value for text in app.markdown if 'class="champy-table"' in text.value)
    rows = table.split("<tr>")[2:]  # one row per model (a card of its own on a phone), after the header
    assert [row.split('data-label="model">')[1].split("<")[0] for row in rows] == labels
    default_card = model_card(DEFAULT_MODEL)
    default_row = rows[available_models().index(DEFAULT_MODEL)]
    top1 = percent(default_card["metrics"]["test"]["top1"])
    assert f'<td data-label="Top-1 accuracy, all test photos">{top1}</td>' in default_row
    known_top1 = percent(default_card["metrics"]["test_known_species_only"]["top1"])
    assert f'<td data-label="Top-1 accuracy, known species only">{known_top1}</td>' in default_row
    shipped = {model_card(name)["backbone"] for name in available_models()}
    for backbone in set(STUDY_BACKBONES) - shipped:
        assert f"--backbone {backbone} --out models/{backbone}_species.h5" in app.code[0].value
    assert not app.image  # no photo yet

    app.file_uploader(key="compare_photo").set_value((PHOTO.name, PHOTO.read_bytes(), "image/jpeg")).run()
    assert not app.exception
    captions = [image.captions for image in app.image]
    assert captions == [["Your photo"]] + [["Where it looked (Grad-CAM)"]] * len(available_models())
    headings = [line.value for line in app.markdown if line.value.startswith("#### ")]
    assert headings == [f"#### {as_text(label)}" for label in labels]
    assert not any("_species" in heading or "champy_ensemble" in heading for heading in headings)
    levels = {style.label for style in RISK_STYLES.values()}
    pills = [line.value for line in app.markdown if "data-risk-level=" in line.value]
    assert len(pills) == len(available_models()) and all(any(level in pill for level in levels) for pill in pills)
    answers = [line.value for line in app.markdown if line.value.startswith("**") and " ms" in line.value]
    assert len(answers) == len(available_models()) and answers[0].startswith("**Boletus edulis**")
    assert not app.success  # agreement is not safety: nothing green
    agreement = next(e.value for e in [*app.info, *app.warning] if "models name" in e.value or "disagree" in e.value)
    assert "Boletus edulis" in agreement


def test_compare_rejects_a_corrupt_photo() -> None:
    app = open_page("compare.py")
    app.file_uploader(key="compare_photo").set_value(("broken.jpg", PHOTO.read_bytes()[:500], "image/jpeg")).run()
    assert not app.exception
    assert app.error[0].value.startswith("Cannot identify this upload: broken")


def test_model_card_page_draws_the_card() -> None:
    app = open_page("model_cards.py")
    assert not app.exception
    assert app.selectbox(key="card_model").value == DEFAULT_MODEL
    card = model_card(DEFAULT_MODEL)
    headings = [heading.value for heading in app.subheader]
    for section in (
        "Intended use",
        "Out-of-scope use",
        "Limitations and known dangerous confusions",
        "Training data and licences",
        "Evaluation",
        "Training",
    ):
        assert section in headings
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Top-1 accuracy, known species only"] == percent(card["metrics"]["test_known_species_only"]["top1"])
    assert metrics["Top-1 accuracy, all test photos"] == percent(card["metrics"]["test"]["top1"])
    assert metrics["Unknown species flagged 'unknown'"] == percent(card["open_set"]["test_unseen_species_flagged"])
    captions = " ".join(caption.value for caption in app.caption)
    assert f"of {card['metrics']['test_known_species_only']['n']} test photos of the 14 species it knows" in captions
    assert f"of all {card['metrics']['test']['n']} test photos, incl. 'other fungi'" in captions
    tables = [text.value for text in app.markdown if 'class="champy-table"' in text.value]
    split = [cell.split("<")[0] for cell in tables[0].split('data-label="photos">')[1:]]
    assert split == [str(count) for count in card["split"]["counts"].values()]

    charts = app.get("plotly_chart")
    assert len(charts) == 3  # calibration, per-class, confusion: an ensemble has no training curves of its own
    ece = trace_values(charts[0], 0, "y")
    calibration = card["calibration"]
    assert np.allclose(ece, [100 * calibration["test_ece_before"], 100 * calibration["test_ece_after"]])
    assert "Members" in headings
    confusions = tables[1]  # the largest off-diagonal cells of the matrix, readable on a phone
    matrix = np.array(card["metrics"]["test"]["confusion_matrix"])
    largest = int((matrix - np.diag(np.diag(matrix))).max())
    assert f'<td data-label="test photos">{largest}</td>' in confusions.split("</tr>")[1]
    members = tables[2]
    assert [cell.split("<")[0] for cell in members.split('data-label="member">')[1:]] == [
        entry["model"] for entry in card["members"]
    ]
    assert [cell.split("<")[0] for cell in members.split('data-label="weight">')[1:]] == [
        f"{entry['weight']:.2f}" for entry in card["members"]
    ]
    cross = card["cross_source"]["groups"]  # benchmarks/cross_source.py --card
    table = next(text.value for text in app.markdown if text.value.startswith("- **same sources"))
    for group, row in cross.items():
        assert f"- **{group}** ({row['photos']} photos): " in table
        assert f"deadly or poisonous at low: {row['dangerous_low']} of {row['dangerous_photos']}" in table
    assert any(text.value.startswith("**Photos from other sources.**") for text in app.markdown)
    over_splits = card.get("evaluation_over_splits")  # benchmarks/ensemble_splits.py --card, for these members
    shown = [text.value for text in app.markdown if text.value.startswith("| figure | mean ± sd (%) |")]
    assert bool(shown) == bool(over_splits)
    if over_splits:
        top1 = over_splits["figures"]["top1"]
        row = f"| Top-1 accuracy, known species only | {100 * top1['mean']:.1f} ± {100 * top1['sd']:.1f} | "
        assert row in shown[0] and len(shown[0].splitlines()) == 2 + 7  # six figures and the best member alone
    confusion = trace_values(charts[2], 0, "z")
    assert (confusion == np.array(card["metrics"]["test"]["confusion_matrix"])).all()
    cell_text = np.array(json.loads(charts[2].proto.spec)["data"][0]["text"])
    assert (cell_text == confusion.astype(str)).all()  # every cell shows its count

    single = model_card("mobilenet_v2_species")
    app.selectbox(key="card_model").set_value("mobilenet_v2_species").run()
    charts = app.get("plotly_chart")
    assert len(charts) == 5  # calibration, per-class, confusion, accuracy, loss
    assert not any("random splits" in text.value for text in app.markdown)  # measured for the ensemble only
    ece = trace_values(charts[0], 0, "y")
    calibration = single["calibration"]
    assert np.allclose(ece, [100 * calibration["test_ece_before"], 100 * calibration["test_ece_after"]])
    accuracy = trace_values(charts[3], 0, "y")
    assert np.allclose(accuracy, [row["accuracy"] for row in single["training"]["history"]])
    confusion = trace_values(charts[2], 0, "z")

    app.toggle(key="normalise_confusion").set_value(True).run()
    shares = trace_values(app.get("plotly_chart")[2], 0, "z")
    supported = confusion.sum(axis=1) > 0
    assert np.allclose(shares[supported].sum(axis=1), 1.0)


def test_dangerous_confusions_name_toxic_species_taken_for_edible_ones() -> None:
    card = json.loads(json.dumps(model_card(DEFAULT_MODEL)))
    names = [label["name"] for label in card["labels"]]
    deadly, edible = names.index("Amanita virosa"), names.index("Boletus edulis")
    matrix = np.zeros((len(names), len(names)), dtype=int)
    matrix[deadly, deadly], matrix[deadly, edible] = 5, 2  # deadly named as edible: dangerous
    matrix[edible, edible], matrix[edible, deadly] = 7, 3  # edible named as deadly: not dangerous
    card["metrics"]["test"]["confusion_matrix"] = matrix.tolist()
    assert dangerous_confusions(card) == [Confusion("Amanita virosa", "deadly", "Boletus edulis", "edible", 2, 7)]

    app = open_page("model_cards.py")
    listed = " ".join(markdown.value for markdown in app.markdown)
    for confusion in dangerous_confusions(model_card(DEFAULT_MODEL)):
        assert f"**{confusion.true_name}** ({confusion.true_status})] named *{confusion.predicted_name}*" in listed


def test_dataset_page_shows_class_balance_and_credited_photos() -> None:
    app = open_page("dataset.py")
    assert not app.exception
    card = model_card(DEFAULT_MODEL)
    classes = app.dataframe[0].value
    assert sorted(classes["class"]) == sorted(label["name"] for label in card["labels"])
    assert classes["train"].sum() == card["split"]["counts"]["train"]
    balance = app.get("plotly_chart")[0]
    shown = dict(zip(trace_values(balance, 0, "y"), trace_values(balance, 0, "x")))
    assert shown == {label["name"]: label["count"]["train"] for label in card["labels"]}

    catalogue = pd.concat(
        [pd.read_csv(folder / "photos.csv", dtype=str, keep_default_na=False) for folder in GALLERY_FOLDERS]
    )
    with_photos = [name for name in classes["class"] if name in set(catalogue["species"])]
    assert {"Amanita virosa", "Boletus edulis"} <= set(with_photos)  # a reference photo and a sample photo
    class_gallery = [image.captions[0].split(" · ")[0] for image in app.image[: len(with_photos)]]
    assert class_gallery == with_photos

    species = app.selectbox(key="sample_species").value
    assert species == with_photos[0]  # the model's own classes come first
    shown = licensed_photos()
    shown = shown[shown["species"] == species]
    assert [image.captions for image in app.image[len(with_photos) :]] == [
        [photo_caption(row)] for _, row in shown.iterrows()
    ]
    assert licensed_photos()["license"].str.match(r"CC|Public domain").all()
