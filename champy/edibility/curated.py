"""The project's own curated verdicts (`data/edibility_curated.csv`), each with the literature it rests on.

A curated verdict overrides the hobby sources in both directions: it is how a species gets "deadly" (only where
fatal poisonings are documented) and how the look-alikes and model classes that no source lists get a row. The
`reference` keys point into `data/edibility_references.csv`.
"""

from __future__ import annotations

import functools
from pathlib import Path

from champy.edibility.lookalikes import Lookalike
from champy.edibility.names import canonical_species
from champy.edibility.sources import SourceEntry
from champy.edibility.status import STATUSES
from champy.edibility.table import read_rows
from champy.errors import ChampyError
from champy.paths import PROJECT_ROOT

CURATED_PATH = PROJECT_ROOT / "data" / "edibility_curated.csv"
REFERENCES_PATH = PROJECT_ROOT / "data" / "edibility_references.csv"
CURATOR = "curator"
_COLUMNS = ("species", "status", "common_name", "lookalikes", "reference", "note")


@functools.cache
def references(path: Path = REFERENCES_PATH) -> dict[str, str]:
    """Reference key -> full citation."""
    return {row["key"]: row["citation"] for row in read_rows(path, ("key", "citation"), "reference list")}


def read_curated(path: Path = CURATED_PATH, citations: dict[str, str] | None = None) -> list[SourceEntry]:
    """The curated verdicts as source entries (source "curator"); unknown statuses or references stop the build."""
    citations = references() if citations is None else citations
    entries = []
    for row in read_rows(path, _COLUMNS, "curated edibility table"):
        species = canonical_species(row["species"])
        if species is None or row["status"] not in STATUSES[:-1]:
            raise ChampyError(f"{path}: bad curated row {row['species']!r} / {row['status']!r}")
        if any(entry.species == species for entry in entries):
            raise ChampyError(f"{path}: {species} has two curated rows")
        keys = [key.strip() for key in row["reference"].split(";") if key.strip()]
        unknown = [key for key in keys if key not in citations]
        if not keys or unknown:
            raise ChampyError(
                f"{path}: {species} needs references listed in {REFERENCES_PATH.name}: {unknown or 'none'}"
            )
        lookalikes = [canonical_species(name) for name in row["lookalikes"].split(";") if name.strip()]
        entries.append(
            SourceEntry(
                species=species,
                source=CURATOR,
                raw_value=f"{row['status']} ({'; '.join(keys)})",
                status=row["status"],
                common_name=row["common_name"].strip(),
                lookalikes=tuple(Lookalike(name, False) for name in lookalikes if name and name != species),
                notes=tuple(filter(None, [row["note"].strip()])),
                reference="; ".join(keys),
            )
        )
    return entries
