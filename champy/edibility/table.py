"""The curated edibility table shipped in `data/edibility.csv`, read once per process and looked up by species."""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from champy.edibility.names import canonical_species
from champy.errors import ChampyError
from champy.paths import PROJECT_ROOT

TABLE_PATH = PROJECT_ROOT / "data" / "edibility.csv"
COLUMNS = (
    "species",
    "status",
    "common_name",
    "sources",
    "conflict",
    "lookalikes",
    "toxic_lookalikes",
    "note",
    "reference",
)
SOURCES_SEPARATOR = " | "
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class EdibilityInfo:
    """What the table says about one species; status "unknown" when no source lists it."""

    species: str
    status: str
    common_name: str
    sources: tuple[str, ...]
    toxic_lookalikes: tuple[str, ...]
    note: str
    lookalikes: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()


def split_list(cell: str, separator: str = LIST_SEPARATOR) -> tuple[str, ...]:
    """The items of a list cell ("a; b" -> ("a", "b")); () for an empty cell."""
    return tuple(item for item in (part.strip() for part in cell.split(separator)) if item)


def read_rows(path: Path, columns: Sequence[str], what: str) -> list[dict[str, str]]:
    """The rows of one of the project's curated CSV tables, checked for `columns`; ChampyError names `what` it is."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ChampyError(f"cannot read the {what} {path}: {exc}") from exc
    if rows and set(columns) - set(rows[0]):
        raise ChampyError(f"{path}: not the {what} (expected columns {', '.join(columns)})")
    return rows


@functools.cache
def load_table(path: Path = TABLE_PATH) -> dict[str, EdibilityInfo]:
    """The table at `path` keyed by species name."""
    rows = read_rows(path, COLUMNS, "edibility table")
    return {
        row["species"]: EdibilityInfo(
            species=row["species"],
            status=row["status"],
            common_name=row["common_name"],
            sources=split_list(row["sources"], SOURCES_SEPARATOR),
            toxic_lookalikes=split_list(row["toxic_lookalikes"]),
            note=row["note"],
            lookalikes=split_list(row["lookalikes"]),
            reference=split_list(row["reference"]),
        )
        for row in rows
    }


def lookup(species: str) -> EdibilityInfo:
    """The table's entry for `species` (any case or spacing, old names accepted); status "unknown" when absent."""
    name = canonical_species(species)
    found = load_table().get(name) if name else None
    if found is not None:
        return found
    shown = name or " ".join(species.split())
    return EdibilityInfo(species=shown, status="unknown", common_name="", sources=(), toxic_lookalikes=(), note="")
