"""Reading GBIF Darwin Core Archives (real ones, malformed ones) and filtering/selecting their images."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import gbif_records
from locations import DWCA_SAMPLES, FIXTURE_GBIF, SHARED_GBIF, needs_shared

from champy.data.blacklist import load_blacklist
from champy.data.dwca import Archive, ArchiveError, Field
from champy.data.ingest import ingest
from champy.data.licences import is_free_licence
from champy.data.selection import SelectionRules, select_images

SAMPLES = DWCA_SAMPLES
TICKS = SHARED_GBIF / "gbif_dwca_amblyomma_americanum_NOT_FUNGI.zip"
PSILOCYBE_MULTIMEDIA = SHARED_GBIF / "psilocybe_multimedia.txt"


def _table(path: Path) -> pd.DataFrame:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY gbifID, n").df()


def test_meta_xml_defaults_header_lines_and_sub_folders():
    with Archive(SAMPLES / "dwca-test-default.zip") as archive:
        assert archive.spec.core.fields["country"] == Field(index=None, default="Belgium")
        assert archive.spec.core.header_lines == 0 and archive.spec.core.delimiter == "\t"
    with Archive(SAMPLES / "dwca-partial-default.zip") as archive:
        assert archive.spec.core.fields["country"] == Field(index=5, default="Belgium")
    with Archive(SAMPLES / "dwca-noheaders-1.zip") as archive:
        assert archive.spec.core.fields["scientificName"].index == 4
    for name in ("dwca-simple-subdir.zip", "gbif-results-whitespace-in-xml.zip"):
        with Archive(SAMPLES / name) as archive:
            assert archive.spec.core.row_type.endswith("/Occurrence")
    with Archive(SAMPLES / "dwca-malformed-descriptor") as archive:  # 235 declared columns
        assert archive.spec.core.width == 235


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("dwca-star-test-archive.zip", "not occurrences"),
        ("dwca-2extensions.zip", "not occurrences"),
        ("gbif-results.zip", "no Multimedia extension"),
        ("gbif-results-lacks-s-metadata.zip", "no Multimedia extension"),
        ("dwca-invalid-lacks-metadata", "no Multimedia extension"),
        ("dwca-malformed-descriptor", "no Multimedia extension"),
        ("dwca-utf8-eol-test.zip", "no Multimedia extension"),
        ("dwca-simple-csv.zip", "no meta.xml"),
        ("dwca-missing-extension-details", "names no data file"),
    ],
)
def test_archives_without_usable_images_give_a_clear_error(tmp_path, name, message):
    with pytest.raises(ArchiveError, match=message):
        ingest(SAMPLES / name, tmp_path)
    assert not (tmp_path / "images.parquet").exists()


def test_broken_and_foreign_files_give_a_clear_error(tmp_path):
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes((SAMPLES / "gbif-results.zip").read_bytes()[:20_000])
    for bad, message in (
        (truncated, "not a readable zip"),
        (FIXTURE_GBIF / "gbif_download_meta.xml", "not a readable zip"),
        (tmp_path / "missing.zip", "not found"),
    ):
        with pytest.raises(ArchiveError, match=message):
            ingest(bad, tmp_path / "out")


@needs_shared(TICKS)
def test_tick_archive_joins_multimedia_to_occurrences(tmp_path):
    report = ingest(TICKS, tmp_path)
    images = _table(tmp_path / "images.parquet")
    assert report["occurrences"] == 1310 and report["images"] == len(images) == 1362
    assert images["gbifID"].nunique() == 1074  # one core id appears once with a trailing space
    assert set(images["kingdom"]) == {"Animalia"} and images["identifier"].str.startswith("http").all()
    occurrences = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path / 'occurrences.parquet'}')").df()
    assert occurrences["hasCoordinate"].sum() == occurrences["decimalLatitude"].notna().sum() == 1185
    assert (images.groupby("gbifID")["n"].apply(lambda n: sorted(n) == list(range(1, len(n) + 1)))).all()


@needs_shared(TICKS)
def test_column_order_missing_headers_and_folders_do_not_change_the_result(tmp_path):
    ingest(TICKS, tmp_path / "zip")
    folder = tmp_path / "unpacked" / "nested"
    with zipfile.ZipFile(TICKS) as archive:
        archive.extractall(folder)
    meta = (folder / "meta.xml").read_text()
    # headerless core with its columns in reverse order, described by a rewritten meta.xml
    lines = (folder / "occurrence.txt").read_text(encoding="utf-8").split("\n")
    width = len(lines[0].split("\t"))
    (folder / "occurrence.txt").write_text(
        "\n".join("\t".join(reversed(line.split("\t"))) for line in lines[1:] if line), encoding="utf-8"
    )
    core, rest = meta.split("</core>", 1)
    for index in range(width):
        core = core.replace(f'index="{index}"', f'index="@{width - 1 - index}"')
    core = core.replace('index="@', 'index="').replace('ignoreHeaderLines="1"', 'ignoreHeaderLines="0"', 1)
    (folder / "meta.xml").write_text(core + "</core>" + rest)
    ingest(tmp_path / "unpacked", tmp_path / "folder")
    pd.testing.assert_frame_equal(
        _table(tmp_path / "zip" / "images.parquet"), _table(tmp_path / "folder" / "images.parquet")
    )


def test_fungi_archive_values_match_the_gbif_records(fungi_archive, tmp_path):
    ingest(fungi_archive, tmp_path)
    images = _table(tmp_path / "images.parquet")
    records = {r["gbifID"]: r for r in gbif_records()}
    assert len(images) == sum(len(r.get("media", [])) for r in records.values())
    for row in images.itertuples():
        record = records[row.gbifID]
        assert row.identifier in {m["identifier"] for m in record["media"]}
        assert row.species == record.get("species") or (pd.isna(row.species) and record.get("species") is None)
        assert row.decimalLatitude == pytest.approx(record["decimalLatitude"])
    assert set(images["basisOfRecord"]) == {"HUMAN_OBSERVATION"}  # meta.xml default only
    assert set(images["type"]) == {"StillImage"}  # default filling empty cells


@needs_shared(TICKS)
def test_ticks_yield_nothing(tmp_path):
    ingest(TICKS, tmp_path)
    with pytest.raises(Exception, match=r"no image passed the filters \(of 1362: 1362 not Fungi\)"):
        select_images(tmp_path, SelectionRules(per_class=1))


def test_selection_is_balanced_deterministic_and_filtered(fungi_archive, tmp_path):
    ingest(fungi_archive, tmp_path)
    rules = SelectionRules(rank="species", classes=2, per_class=50, min_per_class=1)
    report = select_images(tmp_path, rules)
    first = pd.read_parquet(tmp_path / "selected.parquet")
    assert report["rejected"] == {"not Fungi": 1, "no species": 3}
    assert first["label"].value_counts().to_dict() == {"Amanita muscaria": 50, "Fabisporus sanguineus": 2}
    assert set(first["kingdom"]) == {"Fungi"} and first["identifier"].is_unique
    select_images(tmp_path, rules)
    pd.testing.assert_frame_equal(first, pd.read_parquet(tmp_path / "selected.parquet"))

    genus = select_images(tmp_path, SelectionRules(rank="genus", classes=10, per_class=50, min_per_class=1))
    assert genus["rejected"] == {"not Fungi": 1, "no genus": 2}
    assert pd.read_parquet(tmp_path / "selected.parquet")["label"].value_counts().to_dict() == {
        "Amanita": 50,
        "Fabisporus": 2,
        "Favolus": 1,
        "Laetiporus": 1,
        "Phlyctis": 1,
    }

    blacklist = tmp_path / "hosts.txt"
    blacklist.write_text("# Danish fungal atlas\nsvampe.databasen.org/uploads\n")
    report = select_images(
        tmp_path, SelectionRules(classes=10, per_class=500, min_per_class=1, blacklist=tuple(load_blacklist(blacklist)))
    )
    assert report["rejected"]["blacklisted host"] == 4
    free = select_images(tmp_path, SelectionRules(classes=10, per_class=500, min_per_class=1, free_licences_only=True))
    assert free["rejected"]["licence"] == 29  # 15 "All rights reserved", 14 CC BY-NC (4 inherit the record licence)


@needs_shared(PSILOCYBE_MULTIMEDIA)
def test_licence_filter_on_real_multimedia_licences():
    licences = pd.read_csv(PSILOCYBE_MULTIMEDIA, sep="\t", dtype=str, keep_default_na=False)["license"]
    free = licences[licences.map(is_free_licence)]
    assert free.value_counts().to_dict() == {
        "http://creativecommons.org/licenses/by/4.0/": 89,
        "http://creativecommons.org/publicdomain/zero/1.0/": 29,
        "http://creativecommons.org/licenses/by-sa/4.0/": 17,
    }


def test_default_blacklist_blocks_herbarium_hosts_only(fungi_archive, tmp_path):
    blocked = [
        "http://data.huh.harvard.edu/x.jpg",
        "https://bryophyte.mycoportal.org/a.jpg",
        "https://mediaphoto.mnhn.fr/media/1.jpg",
        "https://oxalis.br.fgov.be/images/2.jpg",
    ]
    kept = ["https://mediaphoto.mnhn.fr/other/1.jpg", "https://notmycoportal.org/a.jpg", "https://arter.dk/media/a.jpg"]
    folder = tmp_path / "archive"
    with zipfile.ZipFile(fungi_archive) as archive:
        archive.extractall(folder)
    media = (folder / "export" / "multimedia.txt").read_text().splitlines()
    amanita = [line for line in media if "arter.dk" in line][: len(blocked) + len(kept)]
    rows = [line.replace(line.split("\t")[0], url, 1) for line, url in zip(amanita, blocked + kept)]
    (folder / "export" / "multimedia.txt").write_text("\n".join([media[0], *rows]) + "\n")
    ingest(folder, tmp_path / "out")
    report = select_images(
        tmp_path / "out", SelectionRules(per_class=100, min_per_class=1, blacklist=tuple(load_blacklist(None)))
    )
    assert report["rejected"] == {"blacklisted host": len(blocked)} and report["selected"] == len(kept)
    shutil.rmtree(folder)


def test_a_zip_bomb_descriptor_is_refused_before_it_is_read(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("meta.xml", b"<archive>" + b" " * (17 * 2**20) + b"</archive>")
    assert archive.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match="larger than 16 MB"):
        Archive(archive)
