"""Page through GBIF's occurrence search for one taxon, keeping only records with coordinates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from champy.gbif.client import GbifClient, GbifUnavailable


@dataclass(frozen=True)
class OccurrencePages:
    """The records gathered from one or more pages of an occurrence search."""

    records: list[dict[str, Any]]
    total: int | None
    """How many matching records GBIF holds in all (the search's `count`)."""
    fetched_at: datetime
    """When the oldest of the pages was fetched."""
    from_cache: bool
    """True when every page came from the disk cache."""


def search_occurrences(client: GbifClient, taxon_key: int, limit: int) -> OccurrencePages:
    """Up to `limit` georeferenced occurrence records of `taxon_key`, fetched a page at a time."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    records: list[dict[str, Any]] = []
    fetch_times: list[datetime] = []
    cache_hits: list[bool] = []
    total: int | None = None
    while len(records) < limit:
        params = {
            "taxonKey": taxon_key,
            "hasCoordinate": "true",
            "hasGeospatialIssue": "false",
            "limit": min(client.settings.page_size, limit - len(records)),
            "offset": len(records),
        }
        body, fetched_at, from_cache = client.get_json("occurrence/search", params)
        page = body.get("results")
        if not isinstance(page, list) or not all(isinstance(record, dict) for record in page):
            raise GbifUnavailable("GBIF's occurrence search reply has no list of results.")
        fetch_times.append(fetched_at)
        cache_hits.append(from_cache)
        total = body.get("count") if isinstance(body.get("count"), int) else total
        records.extend(page[: limit - len(records)])
        if not page or body.get("endOfRecords", True):
            break
    return OccurrencePages(records, total, min(fetch_times), all(cache_hits))
