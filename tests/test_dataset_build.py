"""`champy dataset build` end to end against a local photo server, and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from conftest import gbif_records, served_build_command
from locations import DWCA_SAMPLES

from champy.cli import main
from champy.data.labelled import load_labelled

CONTRACT = {"path", "species", "genus", "family", "order", "label", "split", "gbifID", "license", "author", "url"}
OCCURRENCE_COLUMNS = [
    "species",
    "genus",
    "decimalLatitude",
    "decimalLongitude",
    "countryCode",
    "eventDate",
    "basisOfRecord",
    "gbifID",
]


def test_build_writes_the_dataset_the_training_code_reads(tmp_path, photo_server, capsys):
    args, out = served_build_command(tmp_path, photo_server)
    assert main(args) == 0

    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    assert set(manifest.columns) >= CONTRACT
    assert manifest["label"].value_counts().to_dict() == {"Amanita muscaria": 12, "Fabisporus sanguineus": 2}
    assert (manifest["label"] == manifest["species"]).all() and set(manifest["split"]) <= {"train", "val", "test"}
    assert manifest.groupby("gbifID")["split"].nunique().max() == 1
    assert all((out / p).is_file() and "\\" not in p and not p.startswith("/") for p in manifest["path"])
    records = {r["gbifID"]: r for r in gbif_records()}
    for row in manifest.itertuples():
        media = {Path(m["identifier"]).name: m for m in records[row.gbifID]["media"]}[Path(row.url).name]
        assert row.author == (media.get("creator") or media.get("rightsHolder") or "")
        assert row.license == (media.get("license") or records[row.gbifID]["license"])

    occurrences = pd.read_csv(out / "occurrences.csv", dtype=str, keep_default_na=False)
    assert list(occurrences.columns) == OCCURRENCE_COLUMNS
    expected = {g for g, r in records.items() if r.get("species") in set(manifest["label"]) and "decimalLatitude" in r}
    assert set(occurrences["gbifID"]) == expected and len(occurrences) == len(expected)
    classes = pd.read_csv(out / "classes.csv").set_index("label")
    assert classes["images"].to_dict() == {"Amanita muscaria": 12, "Fabisporus sanguineus": 2}
    assert set(load_labelled(out)["label"]) == {"Amanita muscaria", "Fabisporus sanguineus"}

    capsys.readouterr()
    assert main(args) == 0
    rerun = capsys.readouterr().out
    assert "ingest: already done" in rerun and "downloaded 0" in rerun and "already_there 14" in rerun
    assert main(["dataset", "split", "--out", str(out), "--seed", "7"]) == 0
    resplit = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    assert resplit.drop(columns="split").equals(manifest.drop(columns="split"))


def test_bad_archive_exits_2_with_one_line(tmp_path):
    for archive in (DWCA_SAMPLES / "dwca-simple-csv.zip", tmp_path / "missing.zip"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "champy",
                "dataset",
                "build",
                "--archive",
                str(archive),
                "--out",
                str(tmp_path / "out"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).parent.parent,
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("champy: error: ")
