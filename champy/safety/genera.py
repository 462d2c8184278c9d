"""Genera whose dangerous members a photo cannot tell apart from edible ones (`data/dangerous_genera.csv`).

An answer that puts enough probability on such a genus carries the genus's risk, whatever species is named.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from champy.edibility.table import read_rows, split_list
from champy.paths import DATA_DIR

GENERA_PATH = DATA_DIR / "dangerous_genera.csv"
_COLUMNS = ("genus", "level", "dangerous_members", "why", "reference")


@dataclass(frozen=True)
class DangerousGenus:
    """A genus with deadly (or poisonous) members, why a photo cannot separate them, and the literature."""

    genus: str
    level: str
    members: tuple[str, ...]
    why: str
    reference: tuple[str, ...]


@functools.cache
def dangerous_genera(path: Path = GENERA_PATH) -> dict[str, DangerousGenus]:
    """The curated table keyed by genus."""
    rows = read_rows(path, _COLUMNS, "dangerous-genera table")
    return {
        row["genus"]: DangerousGenus(
            genus=row["genus"],
            level=row["level"],
            members=split_list(row["dangerous_members"]),
            why=row["why"],
            reference=split_list(row["reference"]),
        )
        for row in rows
    }
