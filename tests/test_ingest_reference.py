"""Differential tests: the ingest's reading agrees cell for cell with python-dwca-reader, the community's reference
reader, on every sample archive both can read.

Normalisation (the ingest's documented one): values are trimmed of spaces and an empty value is NULL; a term's
meta.xml default fills an empty or absent cell. Where meta.xml maps two terms to one short name, the first wins.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

import duckdb
import pytest
from dwca.read import DwCAReader
from locations import DWCA_SAMPLES, SHARED_GBIF, needs_shared

from champy.data.dwca import Archive, TableSpec, term_name
from champy.data.dwca_text import cell_sql, field_sql, prepare_table, scan_sql
from champy.data.ingest import MEDIA_TERMS, TAXONOMY, ingest

TICKS = SHARED_GBIF / "gbif_dwca_amblyomma_americanum_NOT_FUNGI.zip"
SAMPLES = (
    "dwca-2extensions.zip",
    "dwca-noheaders-1.zip",
    "dwca-nometadata.zip",
    "dwca-orphaned-rows.zip",
    "dwca-partial-default.zip",
    "dwca-simple-subdir.zip",
    "dwca-simple-test-archive.zip",
    "dwca-star-test-archive.zip",
    "dwca-test-default.zip",
    "dwca-utf8-eol-test.zip",
    "gbif-results.zip",
    "gbif-results-lacks-s-metadata.zip",
    "gbif-results-whitespace-in-xml.zip",
)
# The reference refuses these two (a missing eml.xml; a field index past the last column); they are read here.
REFERENCE_REFUSES = ("dwca-invalid-lacks-metadata", "dwca-malformed-descriptor")


def normal(value: str | None) -> str | None:
    """The ingest's normalisation of a value: spaces trimmed, empty as None."""
    value = None if value is None else value.strip(" ")
    return value or None


def our_rows(archive: Archive, spec: TableSpec, work: Path) -> list[tuple]:
    """(id, every term's value) per row, as the ingest reads the table."""
    files = [archive.local_file(location, work / "files" / str(n)) for n, location in enumerate(spec.locations)]
    table = prepare_table(spec, files, work / "text")
    values = [cell_sql(table, spec.id_index) if spec.id_index is not None else "NULL"]
    values += [field_sql(table, field) for field in spec.fields.values()]
    return duckdb.connect().sql(f"SELECT {', '.join(values)} FROM {scan_sql(table)}").fetchall()


def reference_rows(data_file, spec: TableSpec, is_core: bool) -> list[tuple]:
    """(id, every term's value) per row, as python-dwca-reader reads the table, normalised."""
    rows = []
    for row in data_file.iter_rows():
        data = {term_name(term): value for term, value in reversed(row.data.items())}  # the first term wins
        row_id = (row.id if is_core else row.core_id) if spec.id_index is not None else None
        rows.append(tuple(normal(v) for v in (row_id, *(data.get(name) for name in spec.fields))))
    return rows


def compare_every_table(path: Path, tmp_path: Path) -> int:
    """Assert both readers agree on the core and each extension of `path`; returns the number of cells compared."""
    cells = 0
    with Archive(path) as archive, DwCAReader(str(path)) as reference:
        tables = [archive.spec.core, *archive.spec.extensions]
        for number, (spec, data_file) in enumerate(zip(tables, [reference.core_file, *reference.extension_files])):
            ours, theirs = our_rows(archive, spec, tmp_path / str(number)), reference_rows(data_file, spec, number == 0)
            assert len(ours) == len(theirs) > 0
            for line, (our_row, their_row) in enumerate(zip(ours, theirs)):
                assert our_row == their_row, f"{spec.locations[0]} row {line}"
            cells += len(ours) * len(ours[0])
    return cells


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_archives_read_as_the_reference_reads_them(tmp_path, name):
    assert compare_every_table(DWCA_SAMPLES / name, tmp_path) > 0


@pytest.mark.parametrize(("name", "reason"), [(REFERENCE_REFUSES[0], "eml.xml"), (REFERENCE_REFUSES[1], "index=234")])
def test_archives_the_reference_refuses(tmp_path, name, reason):
    with pytest.raises(Exception, match=reason), DwCAReader(str(DWCA_SAMPLES / name)) as reference:
        list(reference.core_file.iter_rows())
    with Archive(DWCA_SAMPLES / name) as archive:
        assert len(our_rows(archive, archive.spec.core, tmp_path)) > 0


@needs_shared(TICKS)
def test_gbif_export_reads_as_the_reference_reads_it(tmp_path):
    # core, verbatim and multimedia: 1,310 x 242 + 1,310 x 220 + 1,362 x 16 cells
    assert compare_every_table(TICKS, tmp_path) == 1310 * 242 + 1310 * 220 + 1362 * 16


@pytest.fixture
def fungi_archive_with_metadata(fungi_archive, tmp_path) -> Path:
    """The recorded fungi archive plus the metadata.xml its meta.xml names (the reference refuses it without)."""
    path = tmp_path / "fungi-with-metadata.zip"
    shutil.copy(fungi_archive, path)
    with zipfile.ZipFile(path) as bundle:
        meta = next(name for name in bundle.namelist() if name.endswith("meta.xml"))
    with zipfile.ZipFile(path, "a") as bundle:
        bundle.writestr(
            str(PurePosixPath(meta).parent / "metadata.xml"),
            '<eml:eml xmlns:eml="eml://ecoinformatics.org'
            '/eml-2.1.1"><dataset><title>recorded GBIF fungi</title></dataset></eml:eml>',
        )
    return path


def test_recorded_fungi_archive_reads_as_the_reference_reads_it(fungi_archive_with_metadata, tmp_path):
    assert compare_every_table(fungi_archive_with_metadata, tmp_path) > 0


def _reference_tables(path: Path) -> tuple[list[tuple], list[tuple]]:
    """The occurrence and image rows the ingest should write, computed from python-dwca-reader's reading."""
    columns = ("gbifID", *TAXONOMY, "countryCode", "basisOfRecord", "eventDate", "license")
    occurrences, by_id = [], {}
    with DwCAReader(str(path)) as reference:
        for row in reference.core_file.iter_rows():
            data = {term_name(term): normal(value) for term, value in row.data.items()}
            core_id = normal(row.id)
            values = {c: data.get(c) for c in columns} | {"gbifID": data.get("gbifID") or core_id}
            occurrences.append(tuple(values[c] for c in columns))
            by_id[core_id] = values
        media_file = next(f for f in reference.extension_files if f.file_descriptor.type.endswith("/Multimedia"))
        images = []
        for row in media_file.iter_rows():
            data = {term_name(term): normal(value) for term, value in row.data.items()}
            occurrence = by_id.get(normal(row.core_id))
            if occurrence is not None and data.get("identifier"):
                media = {t: data.get(t) for t in MEDIA_TERMS}
                media["license"] = media["license"] or occurrence["license"]
                images.append((occurrence["gbifID"], *(media[t] for t in MEDIA_TERMS), occurrence["species"]))
    return sorted(occurrences, key=str), sorted(images, key=str)


@pytest.mark.parametrize("archive", ["ticks", "fungi"])
def test_ingested_tables_match_the_reference(request, tmp_path, archive):
    if archive == "ticks" and not TICKS.exists():
        pytest.skip(f"needs {TICKS}")
    path = TICKS if archive == "ticks" else request.getfixturevalue("fungi_archive_with_metadata")
    ingest(path, tmp_path)
    columns = ", ".join(f'"{c}"' for c in ("gbifID", *TAXONOMY, "countryCode", "basisOfRecord", "eventDate", "license"))
    occurrences = duckdb.sql(f"SELECT {columns} FROM '{tmp_path / 'occurrences.parquet'}'").fetchall()
    images = duckdb.sql(f"SELECT gbifID, {', '.join(MEDIA_TERMS)}, species FROM '{tmp_path / 'images.parquet'}'")
    expected_occurrences, expected_images = _reference_tables(path)
    assert sorted(occurrences, key=str) == expected_occurrences
    assert sorted(images.fetchall(), key=str) == expected_images and len(expected_images) > 0
