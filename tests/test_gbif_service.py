"""get_occurrences: live GBIF (a local fake replaying real answers) first, the offline snapshot on any failure."""

from __future__ import annotations

import dataclasses
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from gbif_fake_api import FakeGbifApi, fake_gbif, gbif_settings, unreachable_api_url  # noqa: F401 (fixtures)

from champy.errors import ChampyError
from champy.gbif import LIVE, NONE, SNAPSHOT, SNAPSHOT_COLUMNS, GbifSettings, get_occurrences, read_snapshot
from champy.paths import DATA_DIR

SHIPPED_SNAPSHOT = DATA_DIR / "occurrences_snapshot.csv"
AMANITA_PAGE = "https://www.gbif.org/species/8168319"
AMANITA_SEARCH_PAGE = "https://www.gbif.org/species/search?q=Amanita+muscaria"


def snapshot_time() -> datetime:
    """The snapshot's date from its data: the day of its latest record (the Amanita answer ends on 2024-10-01)."""
    latest = max(read_snapshot(SHIPPED_SNAPSHOT)["eventDate"].str.slice(0, 10))
    assert latest == "2024-10-01"
    return datetime.fromisoformat(latest).replace(tzinfo=UTC)


def test_live_records_from_gbif(gbif_settings: GbifSettings) -> None:
    before = datetime.now(UTC)
    result = get_occurrences("Amanita muscaria", SHIPPED_SNAPSHOT, limit=500, settings=gbif_settings)
    assert (result.source, result.count, result.total_available) == (LIVE, 300, 300)
    assert result.notice is None and not result.from_cache
    assert result.gbif_url == AMANITA_PAGE
    assert before <= result.fetched_at <= datetime.now(UTC)
    pd.testing.assert_frame_equal(result.records, read_snapshot(SHIPPED_SNAPSHOT))


def test_live_records_are_capped(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    result = get_occurrences("Amanita muscaria", SHIPPED_SNAPSHOT, limit=25, settings=gbif_settings)
    assert (result.source, result.count) == (LIVE, 25)
    assert result.records["gbifID"].tolist() == [record["gbifID"] for record in fake_gbif.records[:25]]


def test_a_second_call_is_answered_from_the_cache(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    first = get_occurrences("Amanita muscaria", None, limit=100, settings=gbif_settings)
    fake_gbif.faults["species/match"] = fake_gbif.faults["occurrence/search"] = "500"
    again = get_occurrences("Amanita muscaria", None, limit=100, settings=gbif_settings)
    assert (again.source, again.count, again.from_cache) == (LIVE, 100, True)
    assert again.fetched_at == first.fetched_at
    assert len(fake_gbif.requests) == 2


@pytest.mark.parametrize("endpoint", ["species/match", "occurrence/search"])
@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("timeout", "GBIF did not answer within 0.3 s."),
        ("500", "GBIF answered with an error (HTTP 500)."),
        ("malformed", "GBIF sent a reply that is not valid JSON."),
    ],
)
def test_failures_fall_back_to_the_snapshot_with_a_notice(
    fake_gbif: FakeGbifApi, gbif_settings: GbifSettings, endpoint: str, fault: str, reason: str
) -> None:
    fake_gbif.faults[endpoint] = fault
    settings = dataclasses.replace(gbif_settings, timeout=0.3)
    result = get_occurrences("Amanita muscaria", SHIPPED_SNAPSHOT, limit=500, settings=settings)
    assert (result.source, result.count) == (SNAPSHOT, 300)
    assert result.notice == f"{reason} Showing the offline snapshot instead."
    assert result.fetched_at == snapshot_time()
    assert result.gbif_url == (AMANITA_SEARCH_PAGE if endpoint == "species/match" else AMANITA_PAGE)


def test_no_network_falls_back_to_the_snapshot(tmp_path: Path) -> None:
    settings = GbifSettings(api_base=unreachable_api_url(), cache_dir=tmp_path, timeout=2.0)
    result = get_occurrences("amanita  muscaria", SHIPPED_SNAPSHOT, limit=40, settings=settings)
    assert (result.source, result.count, result.species) == (SNAPSHOT, 40, "amanita muscaria")
    assert result.notice.startswith("GBIF could not be reached")


def test_a_taxon_without_records_falls_back(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    fake_gbif.taxon_keys.clear()
    result = get_occurrences("Amanita muscaria", SHIPPED_SNAPSHOT, settings=gbif_settings)
    assert (result.source, result.count, result.gbif_url) == (SNAPSHOT, 300, AMANITA_PAGE)
    assert result.notice.startswith("GBIF holds no georeferenced records of Amanita muscaria.")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Aso", "GBIF found no taxon named 'Aso' (No match because of too little confidence)."),
        ("Helianthus annuus", "GBIF matches 'Helianthus annuus' to a taxon in Plantae, not Fungi."),
    ],
)
def test_unmatched_names_end_with_no_records(gbif_settings: GbifSettings, name: str, reason: str) -> None:
    result = get_occurrences(name, SHIPPED_SNAPSHOT, settings=gbif_settings)
    assert (result.source, result.count) == (NONE, 0)
    assert result.notice == f"{reason} The offline snapshot has no records of {name}."
    assert list(result.records.columns) == SNAPSHOT_COLUMNS


def test_without_a_snapshot_the_result_is_empty(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    fake_gbif.faults["species/match"] = "500"
    result = get_occurrences("Amanita muscaria", None, settings=gbif_settings)
    assert (result.source, result.count) == (NONE, 0)
    assert result.notice == "GBIF answered with an error (HTTP 500). No offline snapshot is available."


def test_an_unreadable_snapshot_is_reported(
    fake_gbif: FakeGbifApi, gbif_settings: GbifSettings, tmp_path: Path
) -> None:
    fake_gbif.faults["occurrence/search"] = "500"
    result = get_occurrences("Amanita muscaria", tmp_path / "absent.csv", settings=gbif_settings)
    assert (result.source, result.count) == (NONE, 0)
    assert "The offline snapshot is unusable: cannot read occurrence snapshot" in result.notice


def test_bad_requests_are_user_errors(gbif_settings: GbifSettings) -> None:
    with pytest.raises(ChampyError, match="no species name"):
        get_occurrences("   ", SHIPPED_SNAPSHOT, settings=gbif_settings)
    with pytest.raises(ChampyError, match="at least 1"):
        get_occurrences("Amanita muscaria", SHIPPED_SNAPSHOT, limit=0, settings=gbif_settings)


def test_the_snapshot_is_dated_by_its_records_not_by_its_file(
    tmp_path: Path, fake_gbif: FakeGbifApi, gbif_settings: GbifSettings
) -> None:
    fake_gbif.faults["occurrence/search"] = "500"
    copy = tmp_path / "snapshot.csv"
    shutil.copyfile(SHIPPED_SNAPSHOT, copy)
    os.utime(copy, (0, 0))  # a file dated 1970 by the file system
    assert get_occurrences("Amanita muscaria", copy, settings=gbif_settings).fetched_at == snapshot_time()
    undated = read_snapshot(copy).assign(eventDate="")
    undated.to_csv(copy, index=False)
    result = get_occurrences("Amanita muscaria", copy, settings=gbif_settings)
    assert (result.source, result.count, result.fetched_at) == (SNAPSHOT, 300, None)
