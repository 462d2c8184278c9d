"""The study notebooks: committed clean, and run headlessly with their offline parameters end to end."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pandas as pd
import pytest
from locations import SAMPLE_PHOTOS, SHARED_GBIF, SHARED_PHOTOS, needs_shared
from nbclient import NotebookClient

from champy.paths import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
NAMES = ("01_build_dataset.ipynb", "02_train.ipynb", "03_evaluate_and_explain.ipynb")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _parameters_index(notebook: nbformat.NotebookNode) -> int:
    return next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))


def _run(name: str, **parameters: object) -> nbformat.NotebookNode:
    """Execute a notebook with `parameters` injected after its parameters cell (as papermill does)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    injected = nbformat.v4.new_code_cell("\n".join(f"{key} = {value!r}" for key, value in parameters.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(_parameters_index(notebook) + 1, injected)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    return notebook


def _printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("name") == "stdout"
    )


def _assert_figures(folder: Path, names: list[str]) -> None:
    for name in names:
        assert (folder / name).read_bytes()[:8] == PNG_SIGNATURE, name


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_without_outputs_and_starts_with_its_parameters(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert tagged == [code[0]]
    assert "The study" in tagged[0].source


def _check_dataset(dataset: Path) -> None:
    manifest = pd.read_csv(dataset / "manifest.csv", dtype=str, keep_default_na=False)
    assert set(manifest["label"]) == {"Amanita muscaria", "Laetiporus sulphureus"}
    assert (manifest["label"] == "Amanita muscaria").sum() == 60
    assert all((dataset / path).is_file() for path in manifest["path"])
    assert set(manifest["split"]) <= {"train", "val", "test"}
    photos = pd.read_csv(SHARED_PHOTOS / "photos.csv", dtype=str, keep_default_na=False)
    served = photos.set_index("path")
    for row in manifest.itertuples():  # each photo is attributed to its real author and licence
        source = served.loc[unquote(row.url.split("/", 3)[3])]
        assert (row.species, row.author, row.license) == (source["species"], source["author"], source["license"])
    records = json.loads((SHARED_GBIF / "occurrence_search_amanita_muscaria.json").read_text())["results"]
    occurrences = pd.read_csv(dataset / "occurrences.csv", dtype=str)
    assert (occurrences["species"] == "Amanita muscaria").sum() == sum("decimalLatitude" in r for r in records)
    _assert_figures(dataset / "figures", ["class_distribution.png", "sample_grid.png", "occurrence_map.png"])


def _check_training(models: Path, train_dir: Path, printed: str) -> dict:
    card = json.loads((models / "mobilenet_v2_genus.json").read_text())
    assert (models / "mobilenet_v2_genus.h5").stat().st_size > 1_000_000
    genera = pd.read_csv(SAMPLE_PHOTOS / "photos.csv")["genus"].value_counts()
    assert [label["name"] for label in card["labels"]] == sorted(genera[genera >= 4].index) + ["other fungi"]
    assert card["rank"] == "genus" and card["input"]["size"] == 224 and card["weights"]["pretrained"]
    assert card["training"]["mode"] == "cached" and 2 <= len(card["training"]["history"]) <= 11
    assert card["metrics"]["test"]["n"] == card["split"]["counts"]["test"]
    summary = pd.read_csv(train_dir / "summary.csv", index_col="model")
    assert summary.loc["mobilenet_v2_genus", "top-1"] == pytest.approx(card["metrics"]["test"]["top1"])
    _assert_figures(train_dir / "figures", ["curves_mobilenet_v2_genus.png"])
    assert "No GPU on this machine" in printed
    return card


def _check_evaluation(evaluation: Path, card: dict, available: list[str]) -> None:
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["model"] == "mobilenet_v2_genus" and metrics["split"] == "test"
    assert metrics["n"] == card["metrics"]["test_known_species_only"]["n"]
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["n"]
    assert 0.0 <= metrics["top1"] <= metrics["top3"] <= metrics["top5"] <= 1.0
    assert metrics["unseen_species_photos"] == card["metrics"]["test"]["n"] - metrics["n"]
    comparison = pd.read_csv(evaluation / "comparison.csv", index_col="model")
    assert list(comparison.index) == [
        "mobilenet_v2_genus",
        *[name for name in available if name != "mobilenet_v2_genus"],
    ]
    assert comparison.loc["mobilenet_v2_genus", "top-1"] == pytest.approx(card["metrics"]["test"]["top1"])
    _assert_figures(
        evaluation / "figures",
        ["per_class.png", "confusion_matrix.png", "calibration.png", "gradcam_grid.png", "comparison.png"],
    )


@pytest.mark.slow
@needs_shared(SHARED_PHOTOS)
def test_notebooks_build_a_dataset_train_a_model_and_evaluate_it(tmp_path):
    from champy.inference import available_models

    _run(NAMES[0], out_dir=str(tmp_path / "dataset"))
    _check_dataset(tmp_path / "dataset")

    trained = _run(NAMES[1], models_dir=str(tmp_path / "models"), out_dir=str(tmp_path / "train"))
    card = _check_training(tmp_path / "models", tmp_path / "train", _printed(trained))

    _run(NAMES[2], model_path=str(tmp_path / "models" / "mobilenet_v2_genus.h5"), out_dir=str(tmp_path / "evaluation"))
    _check_evaluation(tmp_path / "evaluation", card, available_models())
