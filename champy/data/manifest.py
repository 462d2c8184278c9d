"""Manifest: the dataset as it is on disk, with attribution, a class summary, splits and map points.

Writes into the dataset folder:
- `manifest.csv`: one row per image file present under `Fungi/` that belongs to the selection
  (`path` relative to the folder, taxonomy, `label`, `split`, `gbifID`, `license`, `author`, `url`);
- `classes.csv`: per class, the number of images in each split and of occurrences with coordinates;
- `occurrences.csv`: every Fungi occurrence with coordinates of every class, for an offline map.
The split is stratified by class and made per occurrence (`gbifID`), so the photos of one find
never end up on both sides.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import duckdb
import pandas as pd

from champy.atomic import write_text
from champy.data.ingest import OCCURRENCES_FILE
from champy.data.selection import read_rules, read_selected
from champy.data.splits import SPLITS, stratified_split
from champy.errors import ChampyError
from champy.gbif.snapshot import SNAPSHOT_COLUMNS

MANIFEST_FILE = "manifest.csv"
CLASSES_FILE = "classes.csv"
OCCURRENCES_CSV = "occurrences.csv"
MANIFEST_COLUMNS = (
    "path",
    "label",
    "species",
    "genus",
    "family",
    "order",
    "class",
    "phylum",
    "split",
    "gbifID",
    "n",
    "license",
    "author",
    "url",
    "countryCode",
    "eventDate",
)


def _csv_text(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def files_on_disk(root: Path) -> set[str]:
    """Relative paths (forward slashes) of the finished JPEG files under `root/Fungi`."""
    found = set()
    for folder, _, names in os.walk(root / "Fungi"):
        relative = Path(folder).relative_to(root).as_posix()
        found.update(f"{relative}/{name}" for name in names if name.endswith(".jpg") and not name.startswith("."))
    return found


def assign_splits(
    manifest: pd.DataFrame, seed: int = 42, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> pd.Series:
    """The split of each manifest row, drawn per occurrence (`gbifID`) and stratified by `label`."""
    occurrences = manifest[["gbifID", "label"]].drop_duplicates("gbifID").reset_index(drop=True)
    try:
        split = stratified_split(occurrences["gbifID"], occurrences["label"], fractions=fractions, seed=seed)
    except ValueError as exc:
        raise ChampyError(str(exc)) from None
    by_occurrence = dict(zip(occurrences["gbifID"], split))
    return manifest["gbifID"].map(by_occurrence)


def class_summary(manifest: pd.DataFrame, map_points: pd.DataFrame, rank: str) -> pd.DataFrame:
    """Per class: taxonomy, images per split and in total, occurrences with coordinates."""
    taxonomy = manifest.groupby("label")[["genus", "family", "order"]].first()
    counts = pd.crosstab(manifest["label"], manifest["split"]).reindex(columns=list(SPLITS), fill_value=0)
    summary = taxonomy.join(counts)
    summary["images"] = counts.sum(axis=1)
    summary["occurrences_with_coordinates"] = map_points.groupby(rank).size().reindex(summary.index, fill_value=0)
    return summary.reset_index()


def _map_points(root: Path, labels: list[str], rank: str) -> pd.DataFrame:
    occurrences = root / OCCURRENCES_FILE
    if not occurrences.is_file():
        raise ChampyError(f"{occurrences} not found: run `champy dataset ingest` first")
    con = duckdb.connect()
    try:
        con.register("labels", pd.DataFrame({"label": pd.Series(labels, dtype=object)}))
        columns = ", ".join(f'"{c}"' for c in SNAPSHOT_COLUMNS)  # the offline snapshot's format
        return con.execute(
            f"""
            SELECT {columns} FROM read_parquet(?)
            WHERE lower(kingdom) = 'fungi' AND decimalLatitude IS NOT NULL AND decimalLongitude IS NOT NULL
              AND coalesce(hasCoordinate, true) AND "{rank}" IN (SELECT label FROM labels)
            ORDER BY "{rank}", gbifID
        """,
            [str(occurrences)],
        ).df()
    finally:
        con.close()


def write_manifest(
    out_dir: str | Path, seed: int = 42, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> dict:
    """Rebuild `manifest.csv`, `classes.csv` and `occurrences.csv` from the files on disk; returns counts."""
    root = Path(out_dir)
    selected = read_selected(root)
    rank = read_rules(root)["rank"]
    on_disk = files_on_disk(root)
    present = selected[selected["path"].isin(on_disk)].copy()
    present["author"] = present["creator"].fillna(present["rightsHolder"])
    present["url"] = present["identifier"]
    if present.empty:
        raise ChampyError(
            f"none of the {len(selected)} selected images is on disk in {root}: run `champy dataset download`"
        )
    manifest = present.reindex(columns=list(MANIFEST_COLUMNS))
    manifest["split"] = assign_splits(manifest, seed, fractions)
    map_points = _map_points(root, sorted(manifest["label"].unique()), rank)
    write_text(root / MANIFEST_FILE, _csv_text(manifest))
    write_text(root / CLASSES_FILE, _csv_text(class_summary(manifest, map_points, rank)))
    write_text(root / OCCURRENCES_CSV, _csv_text(map_points))
    return {
        "images": len(manifest),
        "classes": int(manifest["label"].nunique()),
        "missing": len(selected) - len(present),
        "unselected_files": len(on_disk - set(selected["path"])),
        "map_points": len(map_points),
    }


def resplit(out_dir: str | Path, seed: int = 42, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> dict:
    """Reassign the `split` column of an existing manifest (and the class summary) with a new seed or fractions."""
    root = Path(out_dir)
    path = root / MANIFEST_FILE
    if not path.is_file():
        raise ChampyError(f"{path} not found: run `champy dataset manifest` first")
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    manifest["split"] = assign_splits(manifest, seed, fractions)
    rank = read_rules(root)["rank"]
    map_points = pd.read_csv(root / OCCURRENCES_CSV, dtype=str, keep_default_na=False)
    write_text(path, _csv_text(manifest))
    write_text(root / CLASSES_FILE, _csv_text(class_summary(manifest, map_points, rank)))
    return manifest["split"].value_counts().reindex(list(SPLITS), fill_value=0).to_dict()
