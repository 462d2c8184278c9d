"""`champy occurrences`: where a species has been recorded (GBIF, or the offline snapshot), and
`champy occurrences-snapshot`: build an offline snapshot CSV from saved GBIF answers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from champy.gbif import build_snapshot, get_occurrences
from champy.gbif.service import OccurrenceResult
from champy.occurrence_map import country_counts, map_caption
from champy.paths import DATA_DIR

DEFAULT_SNAPSHOT = DATA_DIR / "occurrences_snapshot.csv"


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `occurrences` and `occurrences-snapshot` commands."""
    show = subparsers.add_parser(
        "occurrences",
        help="where a species has been recorded (GBIF, else the offline snapshot)",
        description="List a species' georeferenced GBIF occurrences. Exits 0 when records were found, 1 when none.",
    )
    show.add_argument("species", help='scientific name, e.g. "Amanita muscaria"')
    show.add_argument("--limit", type=positive_int, default=500, help="most records to fetch (default 500)")
    show.add_argument(
        "--snapshot", type=Path, default=DEFAULT_SNAPSHOT, help="offline snapshot CSV used when GBIF cannot be reached"
    )
    show.add_argument("--json", action="store_true", help="print the result and its records as JSON")
    show.set_defaults(func=run_occurrences)

    build = subparsers.add_parser(
        "occurrences-snapshot",
        help="build an offline occurrence snapshot CSV from saved GBIF occurrence-search answers",
    )
    build.add_argument("answers", nargs="+", type=Path, help="GBIF occurrence-search JSON answers (or cache files)")
    build.add_argument("--output", type=Path, required=True, help="snapshot CSV to write")
    build.set_defaults(func=run_build_snapshot)


def result_as_json(result: OccurrenceResult) -> dict[str, object]:
    """The result as plain JSON data."""
    return {
        "species": result.species,
        "source": result.source,
        "count": result.count,
        "total_available": result.total_available,
        "fetched_at": result.fetched_at.isoformat() if result.fetched_at else None,
        "from_cache": result.from_cache,
        "gbif_url": result.gbif_url,
        "notice": result.notice,
        "countries": {row.countryCode: int(row.records) for row in country_counts(result).itertuples()},
        "records": result.records.to_dict("records"),
    }


def run_occurrences(args: argparse.Namespace) -> int:
    result = get_occurrences(args.species, args.snapshot, args.limit)
    if args.json:
        print(json.dumps(result_as_json(result), ensure_ascii=False, indent=2))
    else:
        print(f"{result.species}: {map_caption(result)}")
        print(f"GBIF page: {result.gbif_url}")
        if result.notice:
            print(f"Notice: {result.notice}")
        if result.count:
            print(country_counts(result).to_string(index=False))
    return 0 if result.count else 1


def run_build_snapshot(args: argparse.Namespace) -> int:
    rows = build_snapshot(args.answers, args.output)
    print(f"wrote {rows} records to {args.output}")
    return 0
