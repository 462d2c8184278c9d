"""Ingest: turn a GBIF Darwin Core Archive into two Parquet tables, out of core with DuckDB.

- `occurrences.parquet`: one row per core record (stable `gbifID`, taxonomy, coordinates, ...);
- `images.parquet`: one row per multimedia row joined to its occurrence, with `n`, the image's
  number within its occurrence (1, 2, ... in URL order, so it is stable across exports).

DuckDB streams the text files (see `dwca_text` for how each file is read) and spills to disk, so
millions of rows fit in a small memory budget. Values are trimmed of spaces and an empty value is
NULL. Rows that cannot be used are dropped and counted in the report; a core id used by two rows
is refused, as it would repeat the images joined to it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import duckdb

from champy.atomic import atomic_path, write_json
from champy.data.dwca import MULTIMEDIA, OCCURRENCE, Archive, ArchiveError, ArchiveSpec, TableSpec
from champy.data.dwca_text import PreparedTable, cell_sql, field_sql, literal, prepare_table, scan_sql

OCCURRENCES_FILE = "occurrences.parquet"
IMAGES_FILE = "images.parquet"
INGEST_RECORD = "ingest.json"
TAXONOMY = ("kingdom", "phylum", "class", "order", "family", "genus", "species")
CORE_TERMS = (
    "gbifID",
    *TAXONOMY,
    "decimalLatitude",
    "decimalLongitude",
    "countryCode",
    "hasCoordinate",
    "basisOfRecord",
    "eventDate",
    "license",
)
MEDIA_TERMS = ("type", "format", "identifier", "license", "rightsHolder", "creator")
MEDIA_ALIASES = {"identifier": ("identifier", "accessURI")}  # Audubon Core names the image URL accessURI
MEMORY_LIMIT = "700MB"  # DuckDB's share: the whole process peaks near 0.8 GB on 2.3 M + 1.4 M rows
READER_VERSION = 2  # raise when the same archive would be read differently, so earlier ingests are redone
NO_ID = "occurrence rows without an id"
log = logging.getLogger(__name__)


def _check(spec_core: TableSpec, media: TableSpec | None, archive: Path) -> TableSpec:
    if spec_core.row_type != OCCURRENCE:
        raise ArchiveError(f"{archive.name}: the core holds {spec_core.row_type or 'unknown rows'}, not occurrences")
    if spec_core.id_index is None:
        raise ArchiveError(f"{archive.name}: meta.xml gives no <id> column for the core")
    if media is None:
        raise ArchiveError(f"{archive.name} has no Multimedia extension, so no image links (download it with media)")
    if media.id_index is None:
        raise ArchiveError(f"{archive.name}: meta.xml gives no <coreid> column for the Multimedia extension")
    if "identifier" not in media.fields and "accessURI" not in media.fields:
        raise ArchiveError(f"{archive.name}: the Multimedia extension has no image URL column (identifier)")
    return media


def _term(table: PreparedTable, names: tuple[str, ...]) -> str:
    """SQL for the value of the first term in `names` that the table has, else NULL."""
    return field_sql(table, next((table.spec.fields[n] for n in names if n in table.spec.fields), None))


def _occurrences_sql(core: PreparedTable) -> str:
    col = {term: _term(core, (term,)) for term in CORE_TERMS}
    lat = f"try_cast({col['decimalLatitude']} AS DOUBLE)"
    lon = f"try_cast({col['decimalLongitude']} AS DOUBLE)"
    taxonomy = ", ".join(f'{col[t]} AS "{t}"' for t in TAXONOMY)
    return f"""
        SELECT core_id, coalesce(gbif_id, core_id) AS gbifID, * EXCLUDE (core_id, gbif_id, has_coordinate),
               coalesce(has_coordinate, decimalLatitude IS NOT NULL AND decimalLongitude IS NOT NULL) AS hasCoordinate
        FROM (
            SELECT {cell_sql(core, core.spec.id_index)} AS core_id, {col["gbifID"]} AS gbif_id, {taxonomy},
                   CASE WHEN {lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180 THEN {lat} END AS decimalLatitude,
                   CASE WHEN {lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180 THEN {lon} END AS decimalLongitude,
                   {col["countryCode"]} AS countryCode,
                   CASE lower({col["hasCoordinate"]}) WHEN 'true' THEN true WHEN 'false' THEN false END
                       AS has_coordinate,
                   {col["basisOfRecord"]} AS basisOfRecord, {col["eventDate"]} AS eventDate, {col["license"]} AS license
            FROM {scan_sql(core)}
        )
    """


def _media_sql(media: PreparedTable) -> str:
    columns = ", ".join(f"{_term(media, MEDIA_ALIASES.get(t, (t,)))} AS {t}" for t in MEDIA_TERMS)
    return f"SELECT {cell_sql(media, media.spec.id_index)} AS core_id, {columns} FROM {scan_sql(media)}"


def _images_sql(media: Path, occurrences: Path) -> str:
    taxonomy = ", ".join(f'o."{t}"' for t in TAXONOMY)
    return f"""
        SELECT o.gbifID, row_number() OVER (PARTITION BY o.gbifID ORDER BY m.identifier) AS n,
               m.type, m.format, m.identifier, coalesce(m.license, o.license) AS license, m.rightsHolder, m.creator,
               {taxonomy}, o.decimalLatitude, o.decimalLongitude, o.countryCode, o.hasCoordinate,
               o.basisOfRecord, o.eventDate
        FROM read_parquet({literal(str(media))}) m JOIN read_parquet({literal(str(occurrences))}) o
             ON m.core_id = o.core_id
        WHERE m.identifier IS NOT NULL
    """


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """Write `query` to the Parquet file `target` atomically; returns the number of rows."""
    with atomic_path(target) as tmp:
        con.execute(f"COPY ({query}) TO {literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        return con.execute(f"SELECT count(*) FROM read_parquet({literal(str(tmp))})").fetchone()[0]


def _refuse_duplicate_ids(con: duckdb.DuckDBPyConnection, occurrences: Path, where: str) -> None:
    """Raise when a core id is on more than one occurrence row (it would repeat the images joined to it)."""
    duplicates = con.execute(f"""
        SELECT core_id, count(*) AS rows, count(*) OVER () AS ids FROM read_parquet({literal(str(occurrences))})
        WHERE core_id IS NOT NULL GROUP BY core_id HAVING count(*) > 1 ORDER BY core_id LIMIT 3
    """).fetchall()
    if duplicates:
        examples = ", ".join(f"{core_id!r} ({rows} rows)" for core_id, rows, _ in duplicates)
        count = duplicates[0][2]
        subject = "1 core id is" if count == 1 else f"{count:,} core ids are each"
        raise ArchiveError(
            f"{where}: {subject} on more than one occurrence row, e.g. {examples}; "
            "each occurrence needs its own id, or its images would be joined twice"
        )


def _dropped(con: duckdb.DuckDBPyConnection, occurrences: Path, media: Path) -> dict[str, int]:
    """How many rows were left out, by reason (reasons with none are omitted)."""
    counts = con.execute(f"""
        SELECT (SELECT count(*) FROM read_parquet({literal(str(occurrences))}) WHERE core_id IS NULL),
               count(*) FILTER (WHERE m.core_id IS NULL),
               count(*) FILTER (WHERE m.core_id IS NOT NULL AND m.identifier IS NULL),
               count(*) FILTER (WHERE m.identifier IS NOT NULL AND m.core_id IS NOT NULL AND o.core_id IS NULL)
        FROM read_parquet({literal(str(media))}) m
        LEFT JOIN (SELECT core_id FROM read_parquet({literal(str(occurrences))}) WHERE core_id IS NOT NULL) o
             ON m.core_id = o.core_id
    """).fetchone()
    reasons = (
        NO_ID,
        "multimedia rows without a core id",
        "multimedia rows without an image URL",
        "multimedia rows whose core id is not in the core",
    )
    dropped = {reason: count for reason, count in zip(reasons, counts) if count}
    for reason, count in dropped.items():
        log.warning("dropped %s %s", f"{count:,}", reason)
    return dropped


def _publish_occurrences(con: duckdb.DuckDBPyConnection, raw: Path, target: Path, filter_ids: bool) -> int:
    """Move the occurrence rows that have an id from `raw` to `target` (atomically); returns how many."""
    if filter_ids:
        return _copy(con, f"SELECT * FROM read_parquet({literal(str(raw))}) WHERE core_id IS NOT NULL", target)
    os.replace(raw, target)
    return con.execute(f"SELECT count(*) FROM read_parquet({literal(str(target))})").fetchone()[0]


def _read_locations(spec: ArchiveSpec) -> list[str]:
    """The data files an ingest reads: the core's and the Multimedia extension's."""
    media = spec.extension(MULTIMEDIA)
    return [*spec.core.locations, *(media.locations if media is not None else ())]


def is_ingested(archive: str | Path, out_dir: str | Path) -> bool:
    """True when `out_dir` holds a finished ingest of this archive's current content."""
    record = Path(out_dir) / INGEST_RECORD
    if not all((Path(out_dir) / name).is_file() for name in (INGEST_RECORD, OCCURRENCES_FILE, IMAGES_FILE)):
        return False
    try:
        saved = json.loads(record.read_text())
        with Archive(archive) as dwca:
            content = dwca.fingerprint(_read_locations(dwca.spec))
    except (ValueError, OSError, ArchiveError):
        return False
    return isinstance(saved, dict) and saved.get("reader") == READER_VERSION and saved.get("content") == content


def _local_files(dwca: Archive, table: TableSpec, work: Path) -> list[Path]:
    return [dwca.local_file(location, work / str(number)) for number, location in enumerate(table.locations)]


def ingest(archive: str | Path, out_dir: str | Path, memory_limit: str = MEMORY_LIMIT) -> dict:
    """Read `archive` (zip or folder) and write the occurrence and image tables into `out_dir`."""
    archive, out_dir = Path(archive), Path(out_dir)
    started = time.monotonic()
    work = out_dir / ".ingest-work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "spill").mkdir(parents=True)
    try:
        with Archive(archive) as dwca:
            media_spec = _check(dwca.spec.core, dwca.spec.extension(MULTIMEDIA), archive)
            content = dwca.fingerprint(_read_locations(dwca.spec))
            core_files = _local_files(dwca, dwca.spec.core, work / "core")
            media_files = _local_files(dwca, media_spec, work / "media")
        core = prepare_table(dwca.spec.core, core_files, work / "core-text")
        media = prepare_table(media_spec, media_files, work / "media-text")
        con = duckdb.connect(
            config={
                "memory_limit": memory_limit,
                "threads": min(4, os.cpu_count() or 1),
                "temp_directory": str(work / "spill"),
                "preserve_insertion_order": False,
            }
        )
        raw_occurrences, raw_media = work / "occurrences.parquet", work / "media.parquet"
        try:
            _copy(con, _occurrences_sql(core), raw_occurrences)
            _refuse_duplicate_ids(con, raw_occurrences, f"{archive.name}: {', '.join(core.spec.locations)}")
            _copy(con, _media_sql(media), raw_media)
            dropped = _dropped(con, raw_occurrences, raw_media)
            occurrences = _publish_occurrences(con, raw_occurrences, out_dir / OCCURRENCES_FILE, NO_ID in dropped)
            images = _copy(con, _images_sql(raw_media, out_dir / OCCURRENCES_FILE), out_dir / IMAGES_FILE)
        except duckdb.Error as exc:
            first_lines = " ".join(str(exc).splitlines()[:2])
            raise ArchiveError(f"{archive.name}: cannot read the data files ({first_lines})") from None
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "archive": str(archive.resolve()),
        "occurrences": occurrences,
        "images": images,
        "dropped": dropped,
        "reading": {**core.notes, **media.notes},
        "seconds": round(time.monotonic() - started, 2),
    }
    write_json(out_dir / INGEST_RECORD, {**report, "reader": READER_VERSION, "content": content})
    return report
