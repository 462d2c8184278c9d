"""Figures per photo source: does an answer hold on photos from collections the model never learned from?

Each answered photo is a row of (species, source, top species, verdict, risk level). `source_figures` sums them up
per source, each figure labelled with what it counts:

- `top1_known`: of the photos of a species the model has a class for, the share whose first candidate is right;
- `low_wrong`: of the answers at level "low", the share naming another species than the photo's;
- `other_species_low`: of the photos of species without a class, the share answered "low";
- `other_species_flagged`: of the photos of species without a class, the share not answered with a species (verdict
  "unknown" or "not_a_mushroom");
- `dangerous_low`: photos of deadly or poisonous species answered "low" (a count: the goal is none);
- `right_and_low_known`: of the photos of a species with a class, the share answered right at level "low".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from champy.edibility import lookup


@dataclass(frozen=True)
class Answered:
    """One photo and what the model answered."""

    species: str
    source: str
    top_species: str
    verdict: str
    level: str


def _share(hits: int, of: int) -> float | None:
    return round(hits / of, 4) if of else None


def figures(rows: list[Answered], classes: set[str]) -> dict:
    """The figures of one group of answered photos (see the module docstring)."""
    known = [row for row in rows if row.species in classes]
    low = [row for row in rows if row.level == "low"]
    others = [row for row in rows if row.species not in classes]
    dangerous = [row for row in rows if lookup(row.species).status in ("deadly", "poisonous")]
    return {
        "photos": len(rows),
        "known_species_photos": len(known),
        "top1_known": _share(sum(row.top_species == row.species for row in known), len(known)),
        "low": len(low),
        "low_wrong": _share(sum(row.top_species != row.species for row in low), len(low)),
        "low_wrong_count": sum(row.top_species != row.species for row in low),
        "other_species_photos": len(others),
        "other_species_low": _share(sum(row.level == "low" for row in others), len(others)),
        "other_species_flagged": _share(sum(row.verdict != "mushroom" for row in others), len(others)),
        "dangerous_photos": len(dangerous),
        "dangerous_low": sum(row.level == "low" for row in dangerous),
        "right_and_low_known": _share(
            sum(row.level == "low" and row.top_species == row.species for row in known), len(known)
        ),
    }


def source_figures(rows: list[Answered], classes: set[str]) -> dict[str, dict]:
    """`figures` for every source, and for all of them together ("all")."""
    sources = sorted({row.source for row in rows})
    result = {source: figures([row for row in rows if row.source == source], classes) for source in sources}
    result["all"] = figures(rows, classes)
    return result


def low_mistakes(rows: list[Answered]) -> list[dict]:
    """The answers at level "low" that named another species than the photo's (what a forager would be told)."""
    return [asdict(row) for row in rows if row.level == "low" and row.top_species != row.species]
