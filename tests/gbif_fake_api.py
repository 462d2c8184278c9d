"""A local stand-in for the GBIF API (127.0.0.1, random port) that replays real recorded GBIF answers.

- `species/match`: the recorded answers for "Helianthus annuus" (a plant) and "Aso" (no match); any
  other unknown name gets the recorded no-match answer. GBIF's match answer for "Amanita muscaria" was
  never recorded, so it is assembled from the taxon fields of the recorded Amanita occurrences.
- `occurrence/search`: the 300 recorded *Amanita muscaria* records, served in pages by offset/limit
  for the taxon keys those records carry; other taxa have no records.
- `faults[endpoint]` makes an endpoint misbehave: "timeout" (answers too late), "500", or "malformed"
  (the real answer cut short, so not valid JSON).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from locations import FIXTURE_GBIF

from champy.gbif import GbifSettings

AMANITA_SEARCH = FIXTURE_GBIF / "occurrence_search_amanita_muscaria.json"
CASSETTES = FIXTURE_GBIF / "pygbif_cassettes"


def unreachable_api_url() -> str:
    """An API URL on a local port nobody listens on: requests to it fail as with no network."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def amanita_match_answer(record: dict[str, Any]) -> dict[str, Any]:
    """A species-match answer for the accepted name of a recorded Amanita occurrence."""
    return {
        "usageKey": record["acceptedTaxonKey"],
        "scientificName": record["acceptedScientificName"],
        "canonicalName": record["species"],
        "rank": record["taxonRank"],
        "status": "ACCEPTED",
        "confidence": 99,
        "matchType": "EXACT",
        "kingdom": record["kingdom"],
        "genus": record["genus"],
        "species": record["species"],
        "kingdomKey": record["kingdomKey"],
        "genusKey": record["genusKey"],
        "speciesKey": record["speciesKey"],
        "synonym": False,
    }


class FakeGbifApi:
    """The fake API; use as a context manager. `requests` lists every (endpoint, params) it was asked."""

    def __init__(self, delay: float = 3.0) -> None:
        self.search_answer = load_json(AMANITA_SEARCH)
        self.records: list[dict[str, Any]] = self.search_answer["results"]
        first = self.records[0]
        self.no_match = load_json(CASSETTES / "species_match_aso_nomatch_multiple.json")
        self.matches = {
            "Amanita muscaria": amanita_match_answer(first),
            "Helianthus annuus": load_json(CASSETTES / "species_match_helianthus_annuus.json"),
        }
        self.taxon_keys = {str(first["taxonKey"]), str(first["acceptedTaxonKey"])}
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.delay = delay
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeGbifApi:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def count(self, endpoint: str) -> int:
        """How many requests reached `endpoint`."""
        return sum(1 for asked, _ in self.requests if asked == endpoint)

    def answer(self, endpoint: str, params: dict[str, str]) -> tuple[int, bytes]:
        """The status and body GBIF would send."""
        fault = self.faults.get(endpoint)
        if fault == "timeout":
            self._stopping.wait(self.delay)
        if fault == "500":
            return 500, b'{"error": "Internal Server Error"}'
        if endpoint == "species/match":
            body = self.matches.get(params.get("name", ""), self.no_match)
        elif endpoint == "occurrence/search":
            body = self._search_page(params)
        else:
            return 404, b'{"error": "Not Found"}'
        data = json.dumps(body).encode("utf-8")
        return 200, data[: len(data) // 2] if fault == "malformed" else data

    def _search_page(self, params: dict[str, str]) -> dict[str, Any]:
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        held = self.records if params.get("taxonKey") in self.taxon_keys else []
        return {
            "offset": offset,
            "limit": limit,
            "endOfRecords": offset + limit >= len(held),
            "count": len(held),
            "results": held[offset : offset + limit],
            "facets": [],
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                endpoint = parts.path.removeprefix("/v1/")
                params = dict(parse_qsl(parts.query))
                api.requests.append((endpoint, params))
                status, body = api.answer(endpoint, params)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout case)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def fake_gbif() -> Iterator[FakeGbifApi]:
    with FakeGbifApi() as api:
        yield api


@pytest.fixture
def gbif_settings(fake_gbif: FakeGbifApi, tmp_path: Path) -> GbifSettings:
    """Settings that talk to the fake API, with a fresh cache folder."""
    return GbifSettings(api_base=fake_gbif.url, cache_dir=tmp_path / "gbif-cache", timeout=5.0)
