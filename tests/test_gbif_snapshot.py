"""Offline occurrence snapshots built from real recorded GBIF answers, and read back per species."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from gbif_fake_api import AMANITA_SEARCH, CASSETTES, load_json
from locations import SHARED_GBIF, needs_shared

from champy.errors import ChampyError
from champy.gbif import SNAPSHOT_COLUMNS, build_snapshot, read_snapshot
from champy.gbif.snapshot import snapshot_from_answers
from champy.paths import DATA_DIR

PSILOCYBE_MULTIMEDIA = SHARED_GBIF / "psilocybe_multimedia.txt"
ORCID_SEARCHES = [
    CASSETTES / "occurrence_search_identifiedByID_orcid_2fungi_1bird.json",
    CASSETTES / "occurrence_search_recordedByID_orcid_3fungi_BR.json",
]


def test_snapshot_of_the_amanita_answer_keeps_every_record(tmp_path: Path) -> None:
    target = tmp_path / "models" / "demo.occurrences.csv"
    assert build_snapshot([AMANITA_SEARCH], target) == 300
    frame = read_snapshot(target)
    assert list(frame.columns) == SNAPSHOT_COLUMNS
    records = load_json(AMANITA_SEARCH)["results"]
    assert frame["gbifID"].tolist() == [record["gbifID"] for record in records]
    assert frame["decimalLatitude"].tolist() == [record["decimalLatitude"] for record in records]
    assert frame["eventDate"].tolist() == [record["eventDate"] for record in records]
    assert set(frame["countryCode"]) == {"DK"}
    assert not list(target.parent.glob("*.part")), "no temporary file is left behind"


def test_snapshot_skips_non_fungi_and_records_without_species() -> None:
    frame = snapshot_from_answers(ORCID_SEARCHES)
    assert sorted(frame["species"]) == ["Fabisporus sanguineus", "Laetiporus sulphureus", "Phlyctis argena"]
    assert "Pyrrhula pyrrhula" not in set(frame["species"])


def test_the_shipped_snapshot_is_the_amanita_answer(tmp_path: Path) -> None:
    rebuilt = tmp_path / "rebuilt.csv"
    build_snapshot([AMANITA_SEARCH], rebuilt)
    assert (DATA_DIR / "occurrences_snapshot.csv").read_bytes() == rebuilt.read_bytes()


def test_reading_one_species_accepts_other_spellings(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.csv"
    build_snapshot([AMANITA_SEARCH, *ORCID_SEARCHES], target)
    assert len(read_snapshot(target)) == 303
    assert len(read_snapshot(target, "Amanita muscaria")) == 300
    assert len(read_snapshot(target, "  amanita_MUSCARIA ")) == 300
    assert read_snapshot(target, "Laetiporus sulphureus")["gbifID"].tolist() == ["4169760562"]
    assert read_snapshot(target, "Boletus edulis").empty


def test_repeated_answers_do_not_repeat_records() -> None:
    assert len(snapshot_from_answers([AMANITA_SEARCH, AMANITA_SEARCH])) == 300


def test_rows_without_usable_coordinates_are_dropped(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.csv"
    build_snapshot([AMANITA_SEARCH], target)
    frame = pd.read_csv(target, dtype=str)
    frame.loc[0, "decimalLatitude"] = ""
    frame.loc[1, "decimalLongitude"] = "200.5"
    frame.to_csv(target, index=False)
    assert read_snapshot(target)["gbifID"].tolist() == frame["gbifID"].tolist()[2:]


@needs_shared(PSILOCYBE_MULTIMEDIA)
def test_a_missing_or_foreign_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ChampyError, match="cannot read occurrence snapshot"):
        read_snapshot(tmp_path / "absent.csv")
    with pytest.raises(ChampyError, match="cannot read occurrence snapshot .*: Error tokenizing"):
        read_snapshot(PSILOCYBE_MULTIMEDIA)
    without_ids = tmp_path / "without_ids.csv"
    read_snapshot(DATA_DIR / "occurrences_snapshot.csv").drop(columns="gbifID").to_csv(without_ids, index=False)
    with pytest.raises(ChampyError, match="lacks the column.s. gbifID"):
        read_snapshot(without_ids)
    with pytest.raises(ChampyError, match="not a GBIF occurrence search answer"):
        build_snapshot([CASSETTES / "species_match_helianthus_annuus.json"], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
