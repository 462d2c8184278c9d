"""Match a scientific name to a GBIF backbone taxon with the species match API."""

from __future__ import annotations

from dataclasses import dataclass

from champy.errors import ChampyError
from champy.gbif.client import GbifClient, GbifUnavailable

ACCEPTED_MATCH_TYPES = ("EXACT", "FUZZY")
"""GBIF's HIGHERRANK (only the genus or family matched) and NONE are not a match for a species."""


class NameNotMatched(ChampyError):
    """GBIF knows no fungus by that name."""


@dataclass(frozen=True)
class TaxonMatch:
    """The GBIF taxon a name stands for."""

    key: int
    """The accepted taxon's key (the synonym's accepted name when the name is a synonym)."""
    name: str
    rank: str
    kingdom: str
    match_type: str


def match_name(client: GbifClient, name: str, kingdom: str = "Fungi") -> TaxonMatch:
    """The taxon GBIF matches `name` to; NameNotMatched when there is none, or it is not in `kingdom`."""
    body, _, _ = client.get_json("species/match", {"name": name})
    match_type = str(body.get("matchType", "NONE"))
    if match_type == "HIGHERRANK":
        higher = f"{str(body.get('rank', '')).lower()} {body.get('canonicalName', '')}".strip()
        raise NameNotMatched(f"GBIF knows {name!r} only at a higher rank ({higher}).")
    if match_type not in ACCEPTED_MATCH_TYPES:
        note = f" ({body['note']})" if body.get("note") else ""
        raise NameNotMatched(f"GBIF found no taxon named {name!r}{note}.")
    found_kingdom = str(body.get("kingdom", ""))
    if found_kingdom != kingdom:
        where = found_kingdom or "an unknown kingdom"
        raise NameNotMatched(f"GBIF matches {name!r} to a taxon in {where}, not {kingdom}.")
    key = body.get("acceptedUsageKey") or body.get("usageKey")
    if not isinstance(key, int):
        raise GbifUnavailable("GBIF's name match has no taxon key.")
    return TaxonMatch(
        key=key,
        name=str(body.get("canonicalName") or name),
        rank=str(body.get("rank", "")),
        kingdom=found_kingdom,
        match_type=match_type,
    )
