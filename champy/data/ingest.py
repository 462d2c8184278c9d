"""Ingest: turn a GBIF Darwin Core Archive into two Parquet tables, out of core with DuckDB.

- `occurrences.parquet`: one row per core record (stable `gbifID`, taxonomy, coordinates, ...);
- `images.parquet`: one row per multimedia row joined to its occurrence, with `n`, the image's
  number within its occurrence (1, 2, ... in URL order, so it is stable across exports).

DuckDB streams the text files and spills to disk, so millions of rows fit in a small memory budget.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb

from champy.atomic import atomic_path, write_json
from champy.data.dwca import MULTIMEDIA, OCCURRENCE, Archive, ArchiveError, TableSpec

OCCURRENCES_FILE = "occurrences.parquet"
IMAGES_FILE = "images.parquet"
INGEST_RECORD = "ingest.json"
TAXONOMY = ("kingdom", "phylum", "class", "order", "family", "genus", "species")
CORE_TERMS = ("gbifID", *TAXONOMY, "decimalLatitude", "decimalLongitude", "countryCode", "hasCoordinate",
              "basisOfRecord", "eventDate", "license")
MEDIA_TERMS = ("type", "format", "identifier", "license", "rightsHolder", "creator")
MEDIA_ALIASES = {"identifier": ("identifier", "accessURI")}  # Audubon Core names the image URL accessURI
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "utf-16": "utf-16"}
MEMORY_LIMIT = "500MB"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _column(table: TableSpec, names: tuple[str, ...]) -> str:
    """SQL for the trimmed value of the first term in `names` that the table has, else NULL."""
    field = next((table.fields[n] for n in names if n in table.fields), None)
    if field is None:
        return "NULL::VARCHAR"
    value = f"nullif(trim(c{field.index}), '')" if field.index is not None else "NULL::VARCHAR"
    return value if field.default is None else f"coalesce({value}, {_literal(field.default.strip())})"


def _read_csv(table: TableSpec, files: list[Path]) -> str:
    """SQL table function reading `files` with the layout `meta.xml` gives, every column as text."""
    encoding = ENCODINGS.get(table.encoding.lower())
    if encoding is None:
        raise ArchiveError(f"unsupported text encoding {table.encoding!r} in meta.xml")
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(table.width)) + "}"
    paths = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
    quote = _literal(table.quote)
    return (
        f"read_csv({paths}, delim={_literal(table.delimiter)}, quote={quote}, escape={quote}, header=false, "
        f"skip={table.header_lines}, columns={columns}, null_padding=true, strict_mode=false, "
        f"auto_detect=false, encoding={_literal(encoding)})"
    )


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


def _occurrences_sql(core: TableSpec, files: list[Path]) -> str:
    col = {term: _column(core, (term,)) for term in CORE_TERMS}
    lat = f"try_cast({col['decimalLatitude']} AS DOUBLE)"
    lon = f"try_cast({col['decimalLongitude']} AS DOUBLE)"
    taxonomy = ", ".join(f'{col[t]} AS "{t}"' for t in TAXONOMY)
    return f"""
        SELECT core_id, coalesce(gbif_id, core_id) AS gbifID, * EXCLUDE (core_id, gbif_id, has_coordinate),
               coalesce(has_coordinate, decimalLatitude IS NOT NULL AND decimalLongitude IS NOT NULL) AS hasCoordinate
        FROM (
            SELECT nullif(trim(c{core.id_index}), '') AS core_id, {col['gbifID']} AS gbif_id, {taxonomy},
                   CASE WHEN {lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180 THEN {lat} END AS decimalLatitude,
                   CASE WHEN {lat} BETWEEN -90 AND 90 AND {lon} BETWEEN -180 AND 180 THEN {lon} END AS decimalLongitude,
                   {col['countryCode']} AS countryCode,
                   CASE lower({col['hasCoordinate']}) WHEN 'true' THEN true WHEN 'false' THEN false END AS has_coordinate,
                   {col['basisOfRecord']} AS basisOfRecord, {col['eventDate']} AS eventDate, {col['license']} AS license
            FROM {_read_csv(core, files)}
        ) WHERE core_id IS NOT NULL
    """


def _images_sql(media: TableSpec, files: list[Path], occurrences: Path) -> str:
    col = {term: _column(media, MEDIA_ALIASES.get(term, (term,))) for term in MEDIA_TERMS}
    taxonomy = ", ".join(f'o."{t}"' for t in TAXONOMY)
    return f"""
        WITH media AS (
            SELECT nullif(trim(c{media.id_index}), '') AS core_id, {col['type']} AS type, {col['format']} AS format,
                   {col['identifier']} AS identifier, {col['license']} AS license,
                   {col['rightsHolder']} AS rightsHolder, {col['creator']} AS creator
            FROM {_read_csv(media, files)}
        )
        SELECT o.gbifID, row_number() OVER (PARTITION BY o.gbifID ORDER BY m.identifier) AS n,
               m.type, m.format, m.identifier, coalesce(m.license, o.license) AS license, m.rightsHolder, m.creator,
               {taxonomy}, o.decimalLatitude, o.decimalLongitude, o.countryCode, o.hasCoordinate,
               o.basisOfRecord, o.eventDate
        FROM media m JOIN read_parquet({_literal(str(occurrences))}) o ON m.core_id = o.core_id
        WHERE m.identifier IS NOT NULL
    """


def _copy(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """Write `query` to the Parquet file `target` atomically; returns the number of rows."""
    with atomic_path(target) as tmp:
        con.execute(f"COPY ({query}) TO {_literal(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        return con.execute(f"SELECT count(*) FROM read_parquet({_literal(str(tmp))})").fetchone()[0]


def archive_stamp(archive: Path) -> dict:
    """What identifies an archive's content cheaply: its path, size and modification time."""
    stat = archive.stat()
    return {"archive": str(archive.resolve()), "size": stat.st_size, "mtime": int(stat.st_mtime)}


def is_ingested(archive: str | Path, out_dir: str | Path) -> bool:
    """True when `out_dir` holds a finished ingest of this very archive."""
    record = Path(out_dir) / INGEST_RECORD
    if not record.is_file() or not (Path(out_dir) / IMAGES_FILE).is_file():
        return False
    try:
        return {k: v for k, v in json.loads(record.read_text()).items() if k in ("archive", "size", "mtime")} == archive_stamp(Path(archive))
    except (ValueError, OSError):
        return False


def ingest(archive: str | Path, out_dir: str | Path, memory_limit: str = MEMORY_LIMIT) -> dict:
    """Read `archive` (zip or folder) and write the occurrence and image tables into `out_dir`."""
    archive, out_dir = Path(archive), Path(out_dir)
    started = time.monotonic()
    work = out_dir / ".ingest-work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "spill").mkdir(parents=True)
    try:
        with Archive(archive) as dwca:
            media = _check(dwca.spec.core, dwca.spec.extension(MULTIMEDIA), archive)
            core_files = [dwca.local_file(loc, work / "core") for loc in dwca.spec.core.locations]
            media_files = [dwca.local_file(loc, work / "media") for loc in media.locations]
        con = duckdb.connect(config={"memory_limit": memory_limit, "threads": min(4, os.cpu_count() or 1),
                                     "temp_directory": str(work / "spill"), "preserve_insertion_order": False})
        try:
            occurrences = _copy(con, _occurrences_sql(dwca.spec.core, core_files), out_dir / OCCURRENCES_FILE)
            images = _copy(con, _images_sql(media, media_files, out_dir / OCCURRENCES_FILE), out_dir / IMAGES_FILE)
        except duckdb.Error as exc:
            first_lines = " ".join(str(exc).splitlines()[:2])
            raise ArchiveError(f"{archive.name}: cannot read the data files ({first_lines})") from None
        finally:
            con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {**archive_stamp(archive), "occurrences": occurrences, "images": images,
              "seconds": round(time.monotonic() - started, 2)}
    write_json(out_dir / INGEST_RECORD, report)
    return report
