"""An offline stand-in for a GBIF export, so that the dataset notebook runs without the internet.

`write_demo_archive` writes a Darwin Core Archive (core + Multimedia extension, as GBIF exports it)
whose occurrences are real GBIF records, and whose image links point at real photos of the same
species served by `serving_photos` on 127.0.0.1. Each image row carries the served photo's own
licence, author and original address, so the dataset built from it is attributed correctly.
"""

from __future__ import annotations

import functools
import json
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from champy.atomic import atomic_path

DWC, DC, GBIF = "http://rs.tdwg.org/dwc/terms/", "http://purl.org/dc/terms/", "http://rs.gbif.org/terms/1.0/"
OCCURRENCE_TERMS = (("gbifID", GBIF), ("kingdom", DWC), ("phylum", DWC), ("class", DWC), ("order", DWC),
                    ("family", DWC), ("genus", DWC), ("species", GBIF), ("decimalLatitude", DWC),
                    ("decimalLongitude", DWC), ("countryCode", DWC), ("eventDate", DWC), ("basisOfRecord", DWC),
                    ("license", DC))
MEDIA_TERMS = (("gbifID", GBIF), ("type", DC), ("format", DC), ("identifier", DC), ("references", DC),
               ("creator", DC), ("license", DC))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving_photos(folder: str | Path) -> Iterator[str]:
    """Serve the files of `folder` over HTTP on 127.0.0.1 while the block runs; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def gbif_records(answers: list[Path]) -> list[dict]:
    """Every occurrence in saved GBIF occurrence-search answers (JSON with a `results` list)."""
    return [record for path in answers for record in json.loads(Path(path).read_text(encoding="utf-8"))["results"]]


def _line(values: list[object]) -> str:
    return "\t".join("" if v is None else str(v).replace("\t", " ").replace("\n", " ") for v in values) + "\n"


def _fields(terms: tuple[tuple[str, str], ...]) -> str:
    return "\n".join(f'    <field index="{i}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(terms))


def _meta_xml() -> str:
    layout = 'encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="1"'
    return f"""<archive xmlns="http://rs.tdwg.org/dwc/text/">
  <core {layout} rowType="{DWC}Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
{_fields(OCCURRENCE_TERMS)}
  </core>
  <extension {layout} rowType="{GBIF}Multimedia">
    <files><location>multimedia.txt</location></files>
    <coreid index="0"/>
{_fields(MEDIA_TERMS)}
  </extension>
</archive>
"""


def _media_rows(records: list[dict], photos: pd.DataFrame, base_url: str) -> list[list[object]]:
    """One row per image of each record, linked to a served photo of the record's species (photos taken in turn)."""
    by_species = {name: group.reset_index(drop=True) for name, group in photos.groupby("species")}
    used: dict[str, int] = {}
    rows = []
    for record in records:
        pool = by_species.get(record.get("species"))
        if pool is None:
            continue
        for _ in record.get("media", []):
            photo = pool.iloc[used.get(record["species"], 0) % len(pool)]
            used[record["species"]] = used.get(record["species"], 0) + 1
            rows.append([record["gbifID"], "StillImage", "image/jpeg", f"{base_url}/{quote(photo['path'])}",
                         photo["url"], photo["author"], photo["license"]])
    return rows


def write_demo_archive(records: list[dict], photo_folder: str | Path, base_url: str, target: str | Path) -> Path:
    """Write `target` (a zip): `records` as the core, their images as photos of `photo_folder` under `base_url`.

    `photo_folder` holds `photos.csv` (path, species, license, author, url) and the photos. Records
    whose species has no photo there keep their occurrence row but get no image row.
    """
    photos = pd.read_csv(Path(photo_folder) / "photos.csv", dtype=str, keep_default_na=False)
    occurrences = _line([name for name, _ in OCCURRENCE_TERMS])
    occurrences += "".join(_line([record.get(name) for name, _ in OCCURRENCE_TERMS]) for record in records)
    media = _line([name for name, _ in MEDIA_TERMS]) + "".join(_line(row) for row in _media_rows(records, photos, base_url))
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.xml", _meta_xml())
        archive.writestr("occurrence.txt", occurrences)
        archive.writestr("multimedia.txt", media)
    return Path(target)
