"""GET requests to the GBIF API: cached, bounded by a timeout, every failure turned into one plain sentence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests

from champy import __version__
from champy.errors import ChampyError
from champy.gbif.cache import CachedAnswer, ResponseCache
from champy.gbif.settings import GbifSettings

USER_AGENT = f"champy/{__version__} (mushroom identification; python-requests)"


class GbifUnavailable(ChampyError):
    """GBIF could not give a usable answer: no network, a timeout, an HTTP error or a malformed reply."""


class GbifClient:
    """Reads JSON from the GBIF API, answering from the disk cache while an entry is fresh."""

    def __init__(self, settings: GbifSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.cache = ResponseCache(settings.cache_dir, settings.max_age)
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    def url_for(self, endpoint: str, params: dict[str, Any]) -> str:
        """The full request URL, parameters sorted so the same request always has the same cache key."""
        query = urlencode(sorted((key, str(value)) for key, value in params.items()))
        return f"{self.settings.api_base}/{endpoint.strip('/')}?{query}"

    def get_json(self, endpoint: str, params: dict[str, Any]) -> tuple[dict[str, Any], datetime, bool]:
        """The JSON object GBIF returns for `endpoint`, when it was fetched, and whether it came from the cache."""
        url = self.url_for(endpoint, params)
        cached = self.cache.load(url)
        if cached is not None:
            return cached.body, cached.fetched_at, True
        body = self._download(url)
        fetched_at = datetime.now(UTC)
        self.cache.store(url, CachedAnswer(body, fetched_at))
        return body, fetched_at, False

    def _download(self, url: str) -> dict[str, Any]:
        timeout = self.settings.timeout
        try:
            response = self.session.get(url, timeout=(timeout, timeout))
        except requests.Timeout:
            raise GbifUnavailable(f"GBIF did not answer within {timeout:g} s.") from None
        except requests.RequestException:
            raise GbifUnavailable("GBIF could not be reached (no network connection?).") from None
        if response.status_code != 200:
            raise GbifUnavailable(f"GBIF answered with an error (HTTP {response.status_code}).")
        try:
            body = response.json()
        except ValueError:
            raise GbifUnavailable("GBIF sent a reply that is not valid JSON.") from None
        if not isinstance(body, dict):
            raise GbifUnavailable("GBIF sent a reply that is not a JSON object.")
        return body
