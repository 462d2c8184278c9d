"""The dataset's mushroom gate: real photos and non-fungi (herbarium sheets among them) in a built dataset tree."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from conftest import served_build_command
from helpers import not_fungi_photos
from locations import SHARED_NOT_FUNGI, SHARED_PHOTOS, needs_shared

from champy.cli import main
from champy.data.imagefile import save_photo

# Herbarium sheets, and the non-fungi closest to a forest floor or a microscope slide. The gate was measured
# to reject all 24 non-fungi photos and ~2 % of mushroom photos.
HERBARIUM_AND_LOOKALIKES = ("herbarium", "coral_dragonfly", "skimage_cell", "skimage_gravel")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _counts(capsys, step: str) -> dict[str, int]:
    """The counts a step printed, e.g. `gate: scored 2, cached 12, ...` -> {"scored": 2, "cached": 12, ...}."""
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(f"{step}: "))
    return {key: int(value) for key, value in (item.rsplit(" ", 1) for item in line[len(step) + 2 :].split(", "))}


@needs_shared(SHARED_NOT_FUNGI)  # the herbarium sheets
@needs_shared(SHARED_PHOTOS)
def test_gate_moves_non_fungi_aside_resumably_and_the_manifest_follows(tmp_path, photo_server, capsys):
    build, out = served_build_command(tmp_path, photo_server)
    assert main(build) == 0
    paths = sorted(pd.read_csv(out / "manifest.csv", dtype=str)["path"])
    assert len(paths) == 14

    # Replace the downloaded files, as the download would have stored them, with chosen images.
    non_fungi = [p for p in not_fungi_photos() if p.name.startswith(HERBARIUM_AND_LOOKALIKES)]
    mushrooms = sorted(SHARED_PHOTOS.glob("*/*.jpg"))[::120][: len(paths) - len(non_fungi)]
    assert len(non_fungi) == 8 and len(mushrooms) == 6
    placed = dict(zip(paths, non_fungi + mushrooms))
    for relpath, source in placed.items():
        save_photo(source.read_bytes(), out / relpath)
    digests = {relpath: _digest(out / relpath) for relpath in paths}
    is_fungus = {relpath: source in mushrooms for relpath, source in placed.items()}

    # A first gate run sees all but two mushrooms; a killed run left a torn score line for one of them.
    late = [p for p in paths if is_fungus[p]][:2]
    for relpath in late:
        (out / relpath).rename(tmp_path / Path(relpath).name)
    assert main(["dataset", "gate", "--out", str(out), "--quiet"]) == 0
    first = _counts(capsys, "gate")
    assert (first["scored"], first["cached"], first["unreadable"]) == (12, 0, 0)
    assert first["moved_to_rejected"] == first["rejected"]
    assert first["rejected"] in (8, 9), "the 8 non-fungi and at most one mushroom photo"
    for relpath in late:
        (tmp_path / Path(relpath).name).rename(out / relpath)
    with open(out / "gate_scores.csv", "a", encoding="utf-8") as scores:
        scores.write(f"{late[0]},{Path(late[0]).stem.split('_')[0]},0.99")

    assert main([*build, "--gate"]) == 0
    output = capsys.readouterr().out
    assert "downloaded 0," in output and "gate: scored 2, cached 12," in output

    gate = pd.read_csv(out / "gate.csv", dtype={"gbifID": str})
    assert list(gate.columns) == ["path", "gbifID", "mushroom_probability", "kept"] and sorted(gate["path"]) == paths
    assert all(gate["gbifID"] == [Path(p).name.split("_")[0] for p in gate["path"]])
    kept = set(gate.loc[gate["kept"], "path"])
    assert not kept & {p for p in paths if not is_fungus[p]}, "every non-fungus image is rejected"
    assert len(kept) >= len(mushrooms) - 1, "at most one of six mushroom photos falls in the gate's ~2 % error"
    for relpath in paths:
        where = out / relpath if relpath in kept else out / "rejected" / relpath
        assert where.is_file() and _digest(where) == digests[relpath]
        assert (relpath in kept) == (out / relpath).is_file()
    manifest = pd.read_csv(out / "manifest.csv", dtype=str)
    assert set(manifest["path"]) == kept

    # Rerunning changes nothing: no download, no scoring, no move, the same outputs.
    gate_csv, manifest_csv = (out / "gate.csv").read_bytes(), (out / "manifest.csv").read_bytes()
    assert main(["dataset", "gate", "--out", str(out), "--quiet"]) == 0
    again = _counts(capsys, "gate")
    assert (again["scored"], again["cached"], again["moved_to_rejected"], again["moved_back"]) == (0, 14, 0, 0)
    assert main([*build, "--gate"]) == 0
    output = capsys.readouterr().out
    assert "downloaded 0," in output and "gate: scored 0, cached 14," in output and "moved_to_rejected 0," in output
    assert (out / "gate.csv").read_bytes() == gate_csv and (out / "manifest.csv").read_bytes() == manifest_csv


def test_gate_without_a_dataset_is_a_clear_error(tmp_path, capsys):
    assert main(["dataset", "gate", "--out", str(tmp_path / "none")]) == 2
    assert "run `champy dataset download` first" in capsys.readouterr().err
    assert main(["dataset", "gate", "--out", str(tmp_path), "--batch-size", "0"]) == 2
    assert "--batch-size must be at least 1" in capsys.readouterr().err
