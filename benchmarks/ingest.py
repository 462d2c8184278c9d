"""Ingest at the study's scale: champy's DuckDB ingest beside python-dwca-reader's streaming read and pandas.

Builds a folder archive with 2.3 M occurrence rows (241 columns) and 1.4 M multimedia rows by repeating the real
rows of the shared GBIF export (fresh ids per repetition, so the join still matches), then runs each reader in its
own process under `/usr/bin/time -v` and prints wall time and peak RSS side by side, from one run:
- champy: `champy.data.ingest.ingest`, both tables written to Parquet;
- python-dwca-reader: one streaming pass over the core and the multimedia rows (`iter_rows`), nothing kept;
- pandas: `read_csv` of both files, every column (its address space capped, as it does not fit in memory).

    python benchmarks/ingest.py [--occurrences 2300000] [--media 1400000] [--work /tmp/champy-ingest-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

from champy.paths import SHARED_DIR

ROOT = Path(__file__).resolve().parent.parent
SOURCE = SHARED_DIR / "data" / "gbif" / "gbif_dwca_amblyomma_americanum_NOT_FUNGI.zip"
TIME = Path("/usr/bin/time")

CHAMPY = """
import sys
from champy.data.ingest import ingest
report = ingest(sys.argv[1], sys.argv[2])
print(f"{report['occurrences']:,} occurrences, {report['images']:,} images joined")
"""

DWCA_READER = """
import sys
from dwca.read import DwCAReader
with DwCAReader(sys.argv[1]) as archive:
    media = next(f for f in archive.extension_files if f.file_descriptor.type.endswith("/Multimedia"))
    counts = [sum(1 for _ in data_file.iter_rows()) for data_file in (archive.core_file, media)]
print(f"{counts[0]:,} core rows, {counts[1]:,} multimedia rows streamed")
"""

PANDAS = """
import csv, resource, sys
limit = int(float(sys.argv[2]) * 2**30)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import pandas as pd
try:
    tables = [pd.read_csv(f"{sys.argv[1]}/{name}", sep="\\t", quoting=csv.QUOTE_NONE, dtype=str)
              for name in ("occurrence.txt", "multimedia.txt")]
    print(f"{len(tables[0]):,} + {len(tables[1]):,} rows in memory")
except MemoryError:
    print(f"MemoryError (address space capped at {sys.argv[2]} GB)")
"""


def _repeat(lines: list[str], rows: int) -> Iterator[str]:
    """`rows` lines cycling through `lines`, the id (first column) made unique per repetition."""
    written, copy = 0, 0
    while written < rows:
        for line in lines[: rows - written]:
            core_id, rest = line.split("\t", 1)
            yield f"{int(core_id.strip()) * 10000 + copy}\t{rest}"
        written += min(len(lines), rows - written)
        copy += 1


def build_archive(folder: Path, occurrences: int, media: int) -> None:
    """A folder DwC-A: the real meta.xml (without the unused verbatim extension) and repeated real rows."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(SOURCE) as source:
        meta = source.read("meta.xml").decode("utf-8")
        start = meta.index("<extension", meta.index("</core>"))
        end = meta.index("</extension>", start) + len("</extension>")
        if "verbatim.txt" in meta[start:end]:
            meta = meta[:start] + meta[end:]
        (folder / "meta.xml").write_text(meta, encoding="utf-8")
        (folder / "metadata.xml").write_bytes(source.read("metadata.xml"))
        for name, rows in (("occurrence.txt", occurrences), ("multimedia.txt", media)):
            header, *lines = source.read(name).decode("utf-8").splitlines(keepends=True)
            with open(folder / name, "w", encoding="utf-8") as sink:
                sink.write(header)
                sink.writelines(_repeat(lines, rows))


def _clock_seconds(text: str) -> float:
    """Seconds from GNU time's `h:mm:ss` or `m:ss.ss`."""
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def measure(code: str, args: list[str], stats_file: Path) -> dict:
    """Run `code` in a fresh Python under /usr/bin/time -v: wall and CPU seconds, peak RSS (MB), last output line."""
    result = subprocess.run(
        [str(TIME), "-v", "-o", str(stats_file), sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    stats = stats_file.read_text()
    output = (result.stdout.strip() or result.stderr.strip() or "no output").splitlines()[-1]
    return {
        "seconds": _clock_seconds(re.search(r"Elapsed \(wall clock\) time.*: (\S+)", stats).group(1)),
        "cpu_seconds": sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): (\S+)", stats)),
        "rss_mb": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats).group(1)) / 1024,
        "outcome": output if result.returncode == 0 else f"exit {result.returncode}: {output}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--occurrences", type=int, default=2_300_000)
    parser.add_argument("--media", type=int, default=1_400_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/champy-ingest-bench"))
    parser.add_argument("--pandas-limit-gb", type=float, default=8.0, help="address-space cap for the pandas run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if not TIME.is_file():
        sys.exit(f"{TIME} is missing (apt-get install time)")
    if not SOURCE.is_file():
        sys.exit(f"{SOURCE} is missing (the shared data folder)")
    archive, out, stats = args.work / "archive", args.work / "out", args.work / "time.txt"
    shutil.rmtree(args.work, ignore_errors=True)
    try:
        build_archive(archive, args.occurrences, args.media)
        size_mb = sum(f.stat().st_size for f in archive.iterdir()) / 2**20
        print(
            f"archive: {args.occurrences:,} occurrence rows + {args.media:,} multimedia rows, {size_mb:,.0f} MB of text"
        )
        load = os.getloadavg()[0]
        results = {
            "champy ingest (DuckDB)": measure(CHAMPY, [str(archive), str(out)], stats),
            "python-dwca-reader (streaming)": measure(DWCA_READER, [str(archive)], stats),
            "pandas read_csv (all columns)": measure(PANDAS, [str(archive), str(args.pandas_limit_gb)], stats),
        }
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    rows = args.occurrences + args.media
    print(f"load average before the runs: {load:.1f} on {os.cpu_count()} cores")
    print(f"{'reader':<32}{'wall s':>8}{'CPU s':>8}{'rows/s':>11}{'peak RSS MB':>13}  outcome")
    for name, result in results.items():
        print(
            f"{name:<32}{result['seconds']:>8.1f}{result['cpu_seconds']:>8.1f}{rows / result['seconds']:>11,.0f}"
            f"{result['rss_mb']:>13,.0f}  {result['outcome']}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"occurrences": args.occurrences, "media": args.media, "mb": size_mb, "load": load, "readers": results},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
