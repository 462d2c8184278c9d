"""Occurrences of one species for the map: live from GBIF when it answers, else from the offline snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import pandas as pd
import requests

from champy.errors import ChampyError
from champy.gbif.client import GbifClient
from champy.gbif.search import search_occurrences
from champy.gbif.settings import GbifSettings
from champy.gbif.snapshot import latest_record_date, read_snapshot, records_to_frame
from champy.gbif.taxon import match_name

LIVE = "live GBIF"
SNAPSHOT = "snapshot"
NONE = "none"


@dataclass(frozen=True)
class OccurrenceResult:
    """Where a species was found, and where that knowledge comes from."""

    species: str
    records: pd.DataFrame
    """One row per occurrence, in the snapshot format (`SNAPSHOT_COLUMNS`)."""
    source: str
    """LIVE ("live GBIF"), SNAPSHOT ("snapshot") or NONE ("none")."""
    fetched_at: datetime | None
    """When the records were fetched from GBIF; for a snapshot, its latest observation day (None if none is dated)."""
    gbif_url: str
    notice: str | None = None
    """Why the live GBIF records are not shown, in one or two sentences; None when they are."""
    total_available: int | None = None
    """How many georeferenced records GBIF holds for the taxon, when it said so."""
    from_cache: bool = False
    """True when the live records were read from the disk cache rather than downloaded just now."""

    @property
    def count(self) -> int:
        """The number of records in `records`."""
        return len(self.records)


def gbif_species_url(species: str, taxon_key: int | None = None) -> str:
    """The species' page on gbif.org, or a species search there when its key is not known."""
    if taxon_key is not None:
        return f"https://www.gbif.org/species/{taxon_key}"
    return f"https://www.gbif.org/species/search?q={quote_plus(species)}"


def get_occurrences(
    species: str,
    snapshot: Path | None = None,
    limit: int = 500,
    settings: GbifSettings | None = None,
) -> OccurrenceResult:
    """Up to `limit` georeferenced records of `species`: live GBIF first, then the `snapshot` CSV.

    Network and GBIF problems never raise: they become the result's `notice`. Only a bad
    `species` or `limit` raises ChampyError.
    """
    if limit < 1:
        raise ChampyError(f"the number of occurrences must be at least 1, not {limit}")
    species = " ".join(species.split())
    if not species:
        raise ChampyError("no species name given")
    taxon_key = None
    try:
        with requests.Session() as session:
            client = GbifClient(settings or GbifSettings(), session)
            taxon = match_name(client, species)
            taxon_key = taxon.key
            pages = search_occurrences(client, taxon.key, limit)
        records = records_to_frame(pages.records)
        if len(records):
            return OccurrenceResult(
                species=species,
                records=records,
                source=LIVE,
                fetched_at=pages.fetched_at,
                gbif_url=gbif_species_url(species, taxon_key),
                total_available=pages.total,
                from_cache=pages.from_cache,
            )
        reason = f"GBIF holds no georeferenced records of {species}."
    except ChampyError as exc:
        reason = str(exc)
    return _offline_result(species, snapshot, limit, reason, gbif_species_url(species, taxon_key))


def _offline_result(species: str, snapshot: Path | None, limit: int, reason: str, gbif_url: str) -> OccurrenceResult:
    """The snapshot's records of `species` (or none), with a notice saying why live GBIF was not used."""
    now = datetime.now(UTC)
    if snapshot is None:
        notice = f"{reason} No offline snapshot is available."
        return OccurrenceResult(species, records_to_frame([]), NONE, now, gbif_url, notice)
    try:
        records = read_snapshot(snapshot, species).head(limit)
    except (ChampyError, OSError) as exc:
        notice = f"{reason} The offline snapshot is unusable: {exc}"
        return OccurrenceResult(species, records_to_frame([]), NONE, now, gbif_url, notice)
    if records.empty:
        notice = f"{reason} The offline snapshot has no records of {species}."
        return OccurrenceResult(species, records, NONE, now, gbif_url, notice)
    notice = f"{reason} Showing the offline snapshot instead."
    return OccurrenceResult(species, records, SNAPSHOT, latest_record_date(records), gbif_url, notice)
