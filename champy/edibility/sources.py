"""The two shippable source tables read as entries with one status each: kipz (MIT) and lannyf (MIT claimed).

The unlicensed SoFa325 table is deliberately not read here: nothing from it may ship.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champy.edibility.lookalikes import Lookalike, parse_bullets
from champy.edibility.names import binomial, canonical_species
from champy.errors import ChampyError

KIPZ_FILE = "kipz_mycology.csv"
LANNYF_SPECIES_FILE = "lannyf_species.csv"
LANNYF_LOOKALIKES_FILE = "lannyf_lookalikes.csv"

# kipz `edibility_normalized` -> status. Doubtful values fail closed (disputed and psychoactive count as poisonous).
KIPZ_STATUS = {
    "choice_edible": "choice",
    "edible": "edible",
    "edible_with_caution": "edible",
    "inedible": "inedible",
    "inedible_suspect": "inedible",
    "medicinal": "inedible",
    "poisonous": "poisonous",
    "deadly": "deadly",
    "disputed": "poisonous",
    "psychoactive": "poisonous",
}

# lannyf (edible, toxicity_level) -> status.
LANNYF_STATUS = {
    ("TRUE", "SAFE"): "edible",
    ("FALSE", "SAFE"): "inedible",
    ("FALSE", "TOXIC"): "poisonous",
    ("FALSE", "EXTREMELY_TOXIC"): "deadly",
}

# kipz `toxicity` values that carry nothing worth a note.
_EMPTY_TOXICITY = {"", "None"}


@dataclass(frozen=True)
class SourceEntry:
    """One source's verdict on one species, with the raw value it was read from."""

    species: str
    source: str
    raw_value: str
    status: str
    common_name: str = ""
    lookalikes: tuple[Lookalike, ...] = ()
    notes: tuple[str, ...] = ()
    reference: str = ""


def read_sources(folder: Path) -> list[SourceEntry]:
    """Every entry of the shippable tables in `folder` (the shared `data/edibility` folder)."""
    return read_kipz(folder / KIPZ_FILE) + read_lannyf(folder / LANNYF_SPECIES_FILE, folder / LANNYF_LOOKALIKES_FILE)


def read_kipz(path: Path) -> list[SourceEntry]:
    """kipz field-guide rows; the alias stubs with a blank edibility (their verdict is another row's) are skipped."""
    entries = []
    columns = ("slug", "common_name", "species", "edibility", "edibility_normalized", "toxicity", "lookalikes")
    for row in _read_rows(path, columns):
        if not row["edibility"].strip():
            continue
        species = canonical_species(row["species"])
        if species is None:
            raise ChampyError(f"{path}: {row['slug']}: {row['species']!r} is not a species name")
        notes = [_renamed_note("kipz", row["species"], species)]
        if row["toxicity"].strip() not in _EMPTY_TOXICITY:
            notes.append(f"kipz toxicity: {row['toxicity'].strip()}")
        entries.append(
            SourceEntry(
                species=species,
                source="kipz",
                raw_value=row["edibility"].strip(),
                status=_mapped(KIPZ_STATUS, row["edibility_normalized"], path),
                common_name=row["common_name"].strip(),
                lookalikes=tuple(parse_bullets(row["lookalikes"], species)),
                notes=tuple(filter(None, notes)),
            )
        )
    return entries


def read_lannyf(species_path: Path, pairs_path: Path) -> list[SourceEntry]:
    """lannyf rows, with the priority look-alike of each species and the edible/toxic look-alike pairs."""
    columns = ("species_id", "scientific_name", "english_name", "edible", "toxicity_level", "priority_lookalike")
    rows = _read_rows(species_path, columns)
    names = {row["species_id"]: canonical_species(row["scientific_name"]) for row in rows}
    partners: dict[str, list[str]] = {row["species_id"]: [row["priority_lookalike"]] for row in rows}
    for pair in _read_rows(pairs_path, ("edible_species_id", "toxic_species_id")):
        partners.setdefault(pair["edible_species_id"], []).append(pair["toxic_species_id"])
    entries = []
    for row in rows:
        species = names[row["species_id"]]
        if species is None:
            continue
        verdict = (row["edible"].strip().upper(), row["toxicity_level"].strip().upper())
        lookalikes = {names.get(partner) for partner in partners[row["species_id"]]} - {None, species}
        entries.append(
            SourceEntry(
                species=species,
                source="lannyf",
                raw_value="/".join(verdict),
                status=_mapped(LANNYF_STATUS, verdict, species_path),
                common_name=row["english_name"].strip(),
                lookalikes=tuple(Lookalike(name, False) for name in sorted(lookalikes)),
                notes=tuple(filter(None, [_renamed_note("lannyf", row["scientific_name"], species)])),
            )
        )
    return entries


def _read_rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV file, checked for the columns the reader needs."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in required if column not in (reader.fieldnames or [])]
            if missing:
                raise ChampyError(f"{path}: missing column(s) {', '.join(missing)}")
            return [{key: value or "" for key, value in row.items()} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ChampyError(f"cannot read {path}: {exc}") from exc


def _mapped(mapping: dict[Any, str], value: Any, path: Path) -> str:
    """The status `mapping` gives `value`; an unmapped value stops the build rather than guessing."""
    if value not in mapping:
        raise ChampyError(f"{path}: edibility value {value!r} has no mapping to a status")
    return mapping[value]


def _renamed_note(source: str, raw_name: str, species: str) -> str:
    """A note when the table's name differs from the source's beyond case and extra words; "" otherwise."""
    given = binomial(raw_name)
    return f"{source} names it {given}" if given != species else ""
