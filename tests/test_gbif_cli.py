"""`champy occurrences` and `champy occurrences-snapshot` against the local fake GBIF API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from gbif_fake_api import AMANITA_SEARCH, CASSETTES, FakeGbifApi, fake_gbif  # noqa: F401 (fake_gbif is a fixture)

from champy.cli import main
from champy.gbif import read_snapshot


@pytest.fixture
def gbif_env(fake_gbif: FakeGbifApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeGbifApi:
    """Point the CLI at the fake API through the environment, with a fresh cache."""
    monkeypatch.setenv("CHAMPY_GBIF_API", fake_gbif.url)
    monkeypatch.setenv("CHAMPY_GBIF_CACHE", str(tmp_path / "cache"))
    return fake_gbif


def test_occurrences_prints_source_link_and_countries(gbif_env: FakeGbifApi, capsys: pytest.CaptureFixture) -> None:
    assert main(["occurrences", "Amanita muscaria", "--limit", "20"]) == 0
    out = capsys.readouterr().out
    assert "Amanita muscaria: 20 of 300 records from live GBIF" in out
    assert "GBIF page: https://www.gbif.org/species/8168319" in out
    assert re.search(r"^\s*DK\s+20\s+100\.0$", out, re.MULTILINE) and "Notice" not in out


def test_occurrences_json(gbif_env: FakeGbifApi, capsys: pytest.CaptureFixture) -> None:
    assert main(["occurrences", "Amanita muscaria", "--limit", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["source"], result["count"], result["countries"]) == ("live GBIF", 20, {"DK": 20})
    assert [record["gbifID"] for record in result["records"]] == [r["gbifID"] for r in gbif_env.records[:20]]


def test_occurrences_falls_back_to_the_shipped_snapshot(gbif_env: FakeGbifApi, capsys: pytest.CaptureFixture) -> None:
    gbif_env.faults["occurrence/search"] = "malformed"
    assert main(["occurrences", "Amanita muscaria"]) == 0
    out = capsys.readouterr().out
    assert "300 records from the offline snapshot" in out
    assert "Notice: GBIF sent a reply that is not valid JSON. Showing the offline snapshot instead." in out


def test_occurrences_of_an_unknown_name_exit_1(gbif_env: FakeGbifApi, capsys: pytest.CaptureFixture) -> None:
    assert main(["occurrences", "Aso"]) == 1
    assert "GBIF found no taxon named 'Aso'" in capsys.readouterr().out


def test_a_bad_limit_is_refused(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["occurrences", "Amanita muscaria", "--limit", "zero"])
    assert exit_info.value.code == 2
    assert "--limit: not a whole number: 'zero'" in capsys.readouterr().err


def test_snapshot_command_builds_a_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "demo.occurrences.csv"
    assert main(["occurrences-snapshot", str(AMANITA_SEARCH), "--output", str(target)]) == 0
    assert f"wrote 300 records to {target}" in capsys.readouterr().out
    assert len(read_snapshot(target, "Amanita muscaria")) == 300


def test_snapshot_command_rejects_a_non_search_answer(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    answer = CASSETTES / "species_match_aso_nomatch_multiple.json"
    assert main(["occurrences-snapshot", str(answer), "--output", str(tmp_path / "out.csv")]) == 2
    assert "champy: error: cannot read GBIF answer" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
