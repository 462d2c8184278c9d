"""The GBIF client against a local fake API replaying real answers: name matching, paging, cache, failures."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gbif_fake_api import (  # noqa: F401 (fake_gbif and gbif_settings are pytest fixtures)
    CASSETTES,
    FakeGbifApi,
    fake_gbif,
    gbif_settings,
    load_json,
    unreachable_api_url,
)

from champy.gbif import GbifClient, GbifSettings, GbifUnavailable, NameNotMatched, match_name
from champy.gbif.cache import CachedAnswer
from champy.gbif.search import search_occurrences

AMANITA_ACCEPTED_KEY = 8168319


def test_match_name_gives_the_accepted_taxon(gbif_settings: GbifSettings) -> None:
    taxon = match_name(GbifClient(gbif_settings), "Amanita muscaria")
    assert (taxon.key, taxon.name) == (AMANITA_ACCEPTED_KEY, "Amanita muscaria")
    assert (taxon.rank, taxon.kingdom, taxon.match_type) == ("SPECIES", "Fungi", "EXACT")


def test_match_name_rejects_an_unknown_name_with_gbifs_note(gbif_settings: GbifSettings) -> None:
    with pytest.raises(NameNotMatched, match="no taxon named 'Aso' .No match because of too little confidence"):
        match_name(GbifClient(gbif_settings), "Aso")


def test_match_name_rejects_a_plant(gbif_settings: GbifSettings) -> None:
    with pytest.raises(NameNotMatched, match="Plantae, not Fungi"):
        match_name(GbifClient(gbif_settings), "Helianthus annuus")


def test_search_pages_until_the_cap(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    client = GbifClient(dataclasses.replace(gbif_settings, page_size=50))
    pages = search_occurrences(client, AMANITA_ACCEPTED_KEY, limit=120)
    assert [record["gbifID"] for record in pages.records] == [r["gbifID"] for r in fake_gbif.records[:120]]
    asked = [(params["offset"], params["limit"]) for endpoint, params in fake_gbif.requests]
    assert asked == [("0", "50"), ("50", "50"), ("100", "20")]
    assert all(params["hasCoordinate"] == "true" for _, params in fake_gbif.requests)
    assert pages.total == len(fake_gbif.records) and not pages.from_cache


def test_search_stops_at_the_end_of_records(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    client = GbifClient(dataclasses.replace(gbif_settings, page_size=200))
    pages = search_occurrences(client, AMANITA_ACCEPTED_KEY, limit=1000)
    assert len(pages.records) == len(fake_gbif.records) == 300
    assert fake_gbif.count("occurrence/search") == 2


def test_answers_are_cached_on_disk(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    first = search_occurrences(GbifClient(gbif_settings), AMANITA_ACCEPTED_KEY, limit=30)
    again = search_occurrences(GbifClient(gbif_settings), AMANITA_ACCEPTED_KEY, limit=30)
    assert fake_gbif.count("occurrence/search") == 1
    assert again.from_cache and again.fetched_at == first.fetched_at
    assert again.records == first.records
    assert len(list(gbif_settings.cache_dir.glob("*.json"))) == 1


def test_expired_answers_are_fetched_again(fake_gbif: FakeGbifApi, gbif_settings: GbifSettings) -> None:
    client = GbifClient(gbif_settings)
    url = client.url_for("species/match", {"name": "Amanita muscaria"})
    stale = datetime.now(UTC) - gbif_settings.max_age - timedelta(minutes=1)
    client.cache.store(url, CachedAnswer({"matchType": "NONE"}, stale))
    assert match_name(client, "Amanita muscaria").key == AMANITA_ACCEPTED_KEY
    assert fake_gbif.count("species/match") == 1
    entry = json.loads(client.cache.path_for(url).read_text(encoding="utf-8"))
    assert datetime.fromisoformat(entry["fetched_at"]) > stale + gbif_settings.max_age


def test_fresh_cache_answers_without_the_network(tmp_path: Path) -> None:
    client = GbifClient(GbifSettings(api_base=unreachable_api_url(), cache_dir=tmp_path, timeout=2.0))
    url = client.url_for("species/match", {"name": "Helianthus annuus"})
    recorded = load_json(CASSETTES / "species_match_helianthus_annuus.json")
    client.cache.store(url, CachedAnswer(recorded, datetime.now(UTC)))
    body, _, from_cache = client.get_json("species/match", {"name": "Helianthus annuus"})
    assert from_cache and body["usageKey"] == 9206251


def test_an_unwritable_cache_does_not_stop_the_fetch(gbif_settings: GbifSettings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    client = GbifClient(dataclasses.replace(gbif_settings, cache_dir=blocker / "cache"))
    assert match_name(client, "Amanita muscaria").key == AMANITA_ACCEPTED_KEY


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("timeout", "did not answer within 0.3 s"),
        ("500", r"HTTP 500"),
        ("malformed", "not valid JSON"),
    ],
)
def test_failures_become_one_plain_sentence(
    fake_gbif: FakeGbifApi, gbif_settings: GbifSettings, fault: str, message: str
) -> None:
    fake_gbif.faults["occurrence/search"] = fault
    client = GbifClient(dataclasses.replace(gbif_settings, timeout=0.3))
    with pytest.raises(GbifUnavailable, match=message):
        search_occurrences(client, AMANITA_ACCEPTED_KEY, limit=10)
    assert not list(gbif_settings.cache_dir.glob("*.json")), "a failed answer must not be cached"


def test_no_network_is_reported(tmp_path: Path) -> None:
    client = GbifClient(GbifSettings(api_base=unreachable_api_url(), cache_dir=tmp_path, timeout=2.0))
    with pytest.raises(GbifUnavailable, match="could not be reached"):
        match_name(client, "Amanita muscaria")


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CHAMPY_GBIF_API", "http://127.0.0.1:8080/v1/")
    monkeypatch.setenv("CHAMPY_GBIF_CACHE", os.fspath(tmp_path))
    settings = GbifSettings()
    assert (settings.api_base, settings.cache_dir) == ("http://127.0.0.1:8080/v1", tmp_path)
    monkeypatch.delenv("CHAMPY_GBIF_API")
    monkeypatch.delenv("CHAMPY_GBIF_CACHE")
    assert GbifSettings().api_base == "https://api.gbif.org/v1"
    assert GbifSettings().cache_dir == Path.home() / ".cache" / "champy" / "gbif"
