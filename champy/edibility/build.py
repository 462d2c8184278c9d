"""Build the curated edibility table from the shippable source tables.

    python -m champy.edibility.build SOURCE_FOLDER OUTPUT_CSV

Where sources disagree the more dangerous verdict wins, unless the curated table (`data/edibility_curated.csv`)
gives a verdict with references; every raw source value is kept in `sources`.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from champy.atomic import write_text
from champy.edibility.curated import CURATOR, read_curated
from champy.edibility.sources import SourceEntry, read_sources
from champy.edibility.status import STATUSES, is_conflict, is_toxic, most_dangerous
from champy.edibility.table import COLUMNS, LIST_SEPARATOR, SOURCES_SEPARATOR
from champy.errors import ChampyError


def build_rows(entries: list[SourceEntry]) -> list[dict[str, str]]:
    """One table row per species, sorted by name."""
    by_species: dict[str, list[SourceEntry]] = defaultdict(list)
    for entry in entries:
        by_species[entry.species].append(entry)
    statuses = {species: _status(species, group) for species, group in by_species.items()}
    return [_row(species, by_species[species], statuses) for species in sorted(by_species)]


def _status(species: str, group: list[SourceEntry]) -> str:
    """The curated verdict where there is one, else the most dangerous source verdict.

    "deadly" needs a curated row naming the literature that documents fatal poisonings.
    """
    curated = [entry for entry in group if entry.source == CURATOR]
    status = curated[0].status if curated else most_dangerous(entry.status for entry in group)
    if status == "deadly" and not curated:
        raise ChampyError(f"{species} is rated deadly by a source but has no curated row with references")
    return status


def _row(species: str, group: list[SourceEntry], statuses: dict[str, str]) -> dict[str, str]:
    """The table row of one species from all its source entries."""
    flagged = {look.species for entry in group for look in entry.lookalikes if look.flagged_toxic}
    lookalikes = sorted({look.species for entry in group for look in entry.lookalikes})
    toxic = [name for name in lookalikes if name in flagged or is_toxic(statuses.get(name, "unknown"))]
    return {
        "species": species,
        "status": statuses[species],
        "common_name": LIST_SEPARATOR.join(_unique(entry.common_name for entry in _naming(group))),
        "sources": SOURCES_SEPARATOR.join(_unique(f"{entry.source}:{entry.raw_value}" for entry in group)),
        "conflict": "yes" if is_conflict(entry.status for entry in group) else "no",
        "lookalikes": LIST_SEPARATOR.join(lookalikes),
        "toxic_lookalikes": LIST_SEPARATOR.join(toxic),
        "note": LIST_SEPARATOR.join(_unique(note for entry in group for note in entry.notes)),
        "reference": LIST_SEPARATOR.join(_unique(entry.reference for entry in group)),
    }


def _naming(group: list[SourceEntry]) -> list[SourceEntry]:
    """The entries whose common names count: the curated one alone when it gives names (it corrects the sources)."""
    curated = [entry for entry in group if entry.source == CURATOR and entry.common_name]
    return curated or group


def _unique(items: Iterable[str]) -> list[str]:
    """Non-empty items in first-seen order, without repeats."""
    return list(dict.fromkeys(item for item in items if item))


def to_csv(rows: list[dict[str, str]]) -> str:
    """The rows as CSV text with a header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def build_table(source_folder: Path, output: Path) -> list[dict[str, str]]:
    """Read the sources in `source_folder`, write the curated table to `output` atomically, return its rows."""
    if not source_folder.is_dir():
        raise ChampyError(f"{source_folder} is not a folder of edibility source tables")
    rows = build_rows(read_sources(source_folder) + read_curated())
    try:
        write_text(output, to_csv(rows))
    except OSError as exc:
        raise ChampyError(f"cannot write {output}: {exc}") from exc
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: build the table and print the count per status."""
    parser = argparse.ArgumentParser(prog="python -m champy.edibility.build", description="Build the edibility table.")
    parser.add_argument("source_folder", type=Path, help="folder with the kipz and lannyf CSV files")
    parser.add_argument("output", type=Path, help="CSV file to write, e.g. data/edibility.csv")
    args = parser.parse_args(argv)
    try:
        rows = build_table(args.source_folder, args.output)
    except ChampyError as exc:
        print(f"champy: error: {exc}", file=sys.stderr)
        return 2
    counts = Counter(row["status"] for row in rows)
    conflicts = sum(row["conflict"] == "yes" for row in rows)
    summary = ", ".join(f"{status} {counts[status]}" for status in STATUSES if counts[status])
    print(f"{len(rows)} species written to {args.output} ({summary}; {conflicts} conflicts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
