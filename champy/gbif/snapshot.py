"""Offline occurrence snapshots: a CSV of georeferenced records, built from GBIF answers and read per species.

The format (also written by the dataset build as `occurrences.csv`) has the columns in
`SNAPSHOT_COLUMNS`, one row per GBIF occurrence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from champy.atomic import atomic_path
from champy.errors import ChampyError

SNAPSHOT_COLUMNS = [
    "species",
    "genus",
    "decimalLatitude",
    "decimalLongitude",
    "countryCode",
    "eventDate",
    "basisOfRecord",
    "gbifID",
]
TEXT_COLUMNS = [column for column in SNAPSHOT_COLUMNS if column not in ("decimalLatitude", "decimalLongitude")]


def normalise_species(name: str) -> str:
    """A species name in the form snapshots are compared in: lower case, single spaces ("Amanita_muscaria" too)."""
    return " ".join(name.replace("_", " ").split()).lower()


def records_to_frame(records: Iterable[dict[str, Any]], kingdom: str = "Fungi") -> pd.DataFrame:
    """GBIF records as a snapshot table: only those in `kingdom`, named to species, with valid coordinates."""
    rows = [
        {column: _cell(record.get(column), column) for column in SNAPSHOT_COLUMNS}
        for record in records
        if record.get("kingdom", kingdom) == kingdom and record.get("species")
    ]
    return clean_frame(pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS))


def _cell(value: Any, column: str) -> Any:
    """A record's value as the snapshot stores it: text columns as text, coordinates untouched."""
    if column in TEXT_COLUMNS:
        return "" if value is None else str(value)
    return value


def clean_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce the snapshot columns to their types and drop rows without a species or usable coordinates."""
    frame = frame[SNAPSHOT_COLUMNS].copy()
    for column in ("decimalLatitude", "decimalLongitude"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].fillna("").astype(str)
    usable = (
        (frame["species"] != "")
        & frame["decimalLatitude"].between(-90, 90)
        & frame["decimalLongitude"].between(-180, 180)
    )
    repeated = frame["gbifID"].ne("") & frame["gbifID"].duplicated()
    return frame[usable & ~repeated].reset_index(drop=True)


def results_in_document(document: Any) -> list[dict[str, Any]]:
    """The occurrence records in an occurrence-search answer, or in a Champy cache entry that holds one."""
    if isinstance(document, dict) and isinstance(document.get("body"), dict):
        document = document["body"]
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list):
        raise ChampyError("not a GBIF occurrence search answer (no 'results' list)")
    return [record for record in results if isinstance(record, dict)]


def snapshot_from_answers(paths: Iterable[Path]) -> pd.DataFrame:
    """One snapshot table from saved occurrence-search answers (recorded responses or cache files)."""
    records: list[dict[str, Any]] = []
    for path in paths:
        try:
            records.extend(results_in_document(json.loads(Path(path).read_text(encoding="utf-8"))))
        except (OSError, ValueError, ChampyError) as exc:
            raise ChampyError(f"cannot read GBIF answer {path}: {exc}") from None
    return records_to_frame(records)


def write_snapshot(frame: pd.DataFrame, target: Path) -> None:
    """Write a snapshot table as CSV, atomically."""
    with atomic_path(target) as tmp:
        frame[SNAPSHOT_COLUMNS].to_csv(tmp, index=False, encoding="utf-8")


def build_snapshot(answer_paths: Iterable[Path], target: Path) -> int:
    """Build the snapshot CSV `target` from saved GBIF answers; returns the number of rows written."""
    frame = snapshot_from_answers(answer_paths)
    try:
        write_snapshot(frame, target)
    except OSError as exc:
        raise ChampyError(f"cannot write occurrence snapshot {target}: {exc}") from None
    return len(frame)


def latest_record_date(records: pd.DataFrame) -> datetime | None:
    """The most recent observation day of `records` (from eventDate, UTC), None when no record gives a day: how
    current a snapshot is, taken from its data rather than from its file's age."""
    days = pd.to_datetime(records["eventDate"].str.slice(0, 10), format="%Y-%m-%d", errors="coerce", utc=True)
    return None if days.isna().all() else days.max().to_pydatetime()


@lru_cache(maxsize=4)
def _clean_snapshot(path: Path, version: tuple[int, int]) -> pd.DataFrame:
    """The checked, cleaned rows of the snapshot CSV at `path`, read once per file `version` (mtime, size)."""
    try:
        # keep_default_na=False keeps country code "NA" (Namibia) a country, not a missing value.
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError) as exc:  # pandas' parser errors are ValueErrors
        raise ChampyError(f"cannot read occurrence snapshot {path}: {str(exc).strip()}") from None
    missing = [column for column in SNAPSHOT_COLUMNS if column not in frame.columns]
    if missing:
        raise ChampyError(f"occurrence snapshot {path} lacks the column(s) {', '.join(missing)}")
    frame = clean_frame(frame)
    return frame.assign(species_key=frame["species"].map(normalise_species))


def read_snapshot(path: Path, species: str | None = None) -> pd.DataFrame:
    """The rows of the snapshot CSV at `path` (only those of `species` when given). ChampyError if unreadable."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ChampyError(f"cannot read occurrence snapshot {path}: {exc.strerror or exc}") from None
    frame = _clean_snapshot(path, (stat.st_mtime_ns, stat.st_size))
    if species is not None:
        frame = frame[frame["species_key"] == normalise_species(species)]
    return frame.drop(columns="species_key").reset_index(drop=True)
