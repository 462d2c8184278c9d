"""Shared fixtures: a Darwin Core Archive of real fungal GBIF records, and a local photo server (both from the
repository's own test data, so they work on a fresh clone)."""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from app_server import CHROMIUM, CHROMIUM_ARGS, serving_app
from locations import FIXTURE_GBIF, sample_photos

OCCURRENCE_JSON = (
    FIXTURE_GBIF / "occurrence_search_amanita_muscaria.json",
    FIXTURE_GBIF / "pygbif_cassettes" / "occurrence_search_identifiedByID_orcid_2fungi_1bird.json",
    FIXTURE_GBIF / "pygbif_cassettes" / "occurrence_search_recordedByID_orcid_3fungi_BR.json",
)
DWC, DC, GBIF_TERMS = "http://rs.tdwg.org/dwc/terms/", "http://purl.org/dc/terms/", "http://rs.gbif.org/terms/1.0/"
# Core columns in an unusual order; basisOfRecord exists only as a meta.xml default.
CORE_COLUMNS = (
    ("gbifID", GBIF_TERMS),
    ("species", GBIF_TERMS),
    ("decimalLongitude", DWC),
    ("eventDate", DWC),
    ("family", DWC),
    ("kingdom", DWC),
    ("countryCode", DWC),
    ("genus", DWC),
    ("order", DWC),
    ("decimalLatitude", DWC),
    ("class", DWC),
    ("phylum", DWC),
    ("license", DC),
)
# Multimedia: the URL first, the core id last, `type` filled only where GBIF's JSON leaves `format` out.
MEDIA_COLUMNS = (
    ("identifier", DC),
    ("license", DC),
    ("type", DC),
    ("format", DC),
    ("creator", DC),
    ("rightsHolder", DC),
    ("gbifID", GBIF_TERMS),
)


def gbif_records() -> list[dict]:
    """Every occurrence of the recorded GBIF occurrence-search responses (fungi and one bird)."""
    return [record for path in OCCURRENCE_JSON for record in json.loads(path.read_text())["results"]]


def _meta_xml() -> str:
    core = "\n".join(f'    <field index="{i}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(CORE_COLUMNS))
    media = "\n".join(f'    <field index="{i}" term="{ns}{name}"/>' for i, (name, ns) in enumerate(MEDIA_COLUMNS))
    media = media.replace(f'term="{DC}type"', f'default="StillImage" term="{DC}type"')
    return f"""<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="metadata.xml">
  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""
        ignoreHeaderLines="1" rowType="{DWC}Occurrence">
    <files><location>occurrence.txt</location></files>
    <id index="0"/>
{core}
    <field default="HUMAN_OBSERVATION" term="{DWC}basisOfRecord"/>
  </core>
  <extension encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""
             ignoreHeaderLines="1" rowType="{GBIF_TERMS}Multimedia">
    <files><location>multimedia.txt</location></files>
    <coreid index="{len(MEDIA_COLUMNS) - 1}"/>
{media}
  </extension>
</archive>
"""


def _row(values: list[object]) -> str:
    return "\t".join("" if v is None else str(v).replace("\t", " ").replace("\n", " ") for v in values) + "\n"


def write_fungi_archive(
    target: Path, url: Callable[[str], str] = lambda u: u, records: list[dict] | None = None
) -> Path:
    """A GBIF-style DwC-A zip (core + Multimedia, files in a sub-folder) of `records` (default: all the recorded
    ones); `url` maps each image URL."""
    records = gbif_records() if records is None else records
    occurrences = _row([name for name, _ in CORE_COLUMNS]) + "".join(
        _row([r.get(name) for name, _ in CORE_COLUMNS]) for r in records
    )
    media = _row([name for name, _ in MEDIA_COLUMNS]) + "".join(
        _row(
            [
                url(m["identifier"])
                if name == "identifier"
                else r["gbifID"]
                if name == "gbifID"
                else None
                if name == "type" and "format" not in m
                else m.get(name)
                for name, _ in MEDIA_COLUMNS
            ]
        )
        for r in records
        for m in r.get("media", [])
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/meta.xml", _meta_xml())
        archive.writestr("export/occurrence.txt", occurrences)
        archive.writestr("export/multimedia.txt", media)
    return target


@pytest.fixture(scope="session")
def fungi_archive(tmp_path_factory) -> Path:
    """The recorded fungal GBIF records as a DwC-A zip with their real image URLs."""
    return write_fungi_archive(tmp_path_factory.mktemp("dwca") / "fungi.zip")


class PhotoServer(ThreadingHTTPServer):
    """Serves real photos under /photo/, and misbehaves under /404/, /flaky/, /busy/, /slow/, /truncated/,
    /cut/ and /html/. Counts the requests per path."""

    daemon_threads = True

    def __init__(self, delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), _PhotoHandler)
        self.delay = delay
        self.photos = sample_photos()
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    def handle_error(self, request, client_address) -> None:
        """Stay quiet when a client gives up on a slow answer (that is what the timeout tests do)."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def photo_for(self, path: str) -> bytes:
        return self.photos[sum(path.encode()) % len(self.photos)].read_bytes()


class _PhotoHandler(BaseHTTPRequestHandler):
    server: PhotoServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "image/jpeg",
        length: int | None = None,
        headers: dict | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits[self.path] += 1
            hits = self.server.hits[self.path]
        kind = self.path.split("/")[1]
        photo = self.server.photo_for(self.path)
        if kind == "404":
            self._send(404, b"not found", "text/plain")
        elif kind == "flaky" and hits == 1:
            self._send(500, b"server error", "text/plain")
        elif kind == "busy":
            self._send(429, b"slow down", "text/plain", headers={"Retry-After": "0"})
        elif kind == "slow":
            time.sleep(self.server.delay)
            self._send(200, photo)
        elif kind == "truncated":
            self._send(200, photo[: len(photo) // 2])
        elif kind == "cut":
            self._send(200, photo[: len(photo) // 2], length=len(photo))
            self.close_connection = True
        elif kind == "html":
            self._send(200, b"<!doctype html><html><body>Image not available</body></html>", "text/html")
        else:
            self._send(200, photo)


def served_build_command(tmp_path: Path, server: PhotoServer) -> tuple[list[str], Path]:
    """`champy dataset build` arguments for a two-species archive whose photos `server` serves, and the output."""
    archive = write_fungi_archive(tmp_path / "export.zip", url=lambda u: f"{server.base}/photo/{Path(u).name}")
    out = tmp_path / "dataset"
    command = [
        "dataset",
        "build",
        "--archive",
        str(archive),
        "--out",
        str(out),
        "--classes",
        "2",
        "--per-class",
        "12",
        "--min-per-class",
        "1",
        "--workers",
        "4",
        "--quiet",
    ]
    return command, out


@pytest.fixture
def photo_server():
    """A running `PhotoServer` on 127.0.0.1 (`.delay` is how long /slow/ answers take)."""
    server = PhotoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """`streamlit run app.py` for one test module, offline (GBIF unreachable: the map falls back to the bundled
    snapshot)."""
    offline = {"CHAMPY_GBIF_API": "http://127.0.0.1:9", "CHAMPY_GBIF_CACHE": str(tmp_path_factory.mktemp("gbif"))}
    with serving_app(offline) as url:
        yield url


@pytest.fixture(scope="module")
def browser(app_url):
    """Headless Chromium for one test module, started once its app server answers."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
