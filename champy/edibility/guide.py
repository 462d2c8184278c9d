"""The field guide: the features that tell a species from its look-alikes, and licensed reference photos of it.

Features come from `data/species_features.csv` (curated, with literature keys); photos from
`data/reference_photos/photos.csv` (Wikimedia Commons, author, licence and page per photo).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from champy.edibility.names import canonical_species
from champy.edibility.table import read_rows, split_list
from champy.paths import DATA_DIR

FEATURES_PATH = DATA_DIR / "species_features.csv"
REFERENCE_PHOTOS_DIR = DATA_DIR / "reference_photos"
FEATURES = {
    "cap": "Cap",
    "underside": "Gills, pores or ridges",
    "ring": "Ring",
    "base": "Stem base / volva",
    "spore_print": "Spore print",
    "flesh_and_smell": "Flesh and smell",
    "habitat": "Habitat",
}
"""Feature column -> the label shown to people."""


@dataclass(frozen=True)
class LicensedPhoto:
    """A reference photo that may be shown with its attribution."""

    species: str
    path: Path
    author: str
    licence: str
    source_page: str


@functools.cache
def _features(path: Path = FEATURES_PATH) -> dict[str, dict[str, str]]:
    columns = ("species", *FEATURES, "reference")
    return {
        canonical_species(row["species"]) or row["species"]: row
        for row in read_rows(path, columns, "field-guide table")
    }


def species_features(species: str) -> dict[str, str]:
    """Feature label -> description for `species` (old names accepted); {} when the guide does not cover it."""
    row = _features().get(canonical_species(species) or species)
    return {label: row[column] for column, label in FEATURES.items()} if row else {}


def feature_references(species: str) -> tuple[str, ...]:
    """The literature keys behind the species' features."""
    row = _features().get(canonical_species(species) or species)
    return split_list(row["reference"]) if row else ()


@functools.cache
def _photos(folder: Path = REFERENCE_PHOTOS_DIR) -> dict[str, tuple[LicensedPhoto, ...]]:
    table = folder / "photos.csv"
    if not table.is_file():
        return {}
    by_species: dict[str, list[LicensedPhoto]] = {}
    for row in read_rows(table, ("path", "species", "author", "licence", "source_page"), "reference photo list"):
        photo = LicensedPhoto(row["species"], folder / row["path"], row["author"], row["licence"], row["source_page"])
        by_species.setdefault(canonical_species(row["species"]) or row["species"], []).append(photo)
    return {species: tuple(photos) for species, photos in by_species.items()}


def reference_photos(species: str) -> tuple[LicensedPhoto, ...]:
    """The licensed reference photos of `species` (old names accepted); () when there are none."""
    return _photos().get(canonical_species(species) or species, ())
