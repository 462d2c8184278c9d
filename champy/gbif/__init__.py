"""GBIF occurrences of a species: name matching, paged occurrence search, a disk cache and offline snapshots.

The app and the CLI call `get_occurrences`; the map is drawn by `champy.occurrence_map`.
"""

from champy.gbif.client import GbifClient, GbifUnavailable
from champy.gbif.service import LIVE, NONE, SNAPSHOT, OccurrenceResult, gbif_species_url, get_occurrences
from champy.gbif.settings import GbifSettings
from champy.gbif.snapshot import SNAPSHOT_COLUMNS, build_snapshot, read_snapshot
from champy.gbif.taxon import NameNotMatched, TaxonMatch, match_name

__all__ = [
    "GbifClient",
    "GbifSettings",
    "GbifUnavailable",
    "LIVE",
    "NONE",
    "NameNotMatched",
    "OccurrenceResult",
    "SNAPSHOT",
    "SNAPSHOT_COLUMNS",
    "TaxonMatch",
    "build_snapshot",
    "gbif_species_url",
    "get_occurrences",
    "match_name",
    "read_snapshot",
]
