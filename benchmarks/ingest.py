"""Ingest at the study's scale: champy's DuckDB ingest versus a plain pandas `read_csv`.

Builds a folder archive with 2.3 M occurrence rows and 1.4 M multimedia rows by repeating the
real rows of the shared GBIF export (fresh ids per repetition, so the join still matches), then
runs each reader in its own subprocess and prints rows/s and peak RSS (ru_maxrss).

    python benchmarks/ingest.py [--occurrences 2300000] [--media 1400000] [--work /tmp/champy-ingest-bench]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterator

from champy.paths import SHARED_DIR

ROOT = Path(__file__).resolve().parent.parent
SOURCE = SHARED_DIR / "data" / "gbif" / "gbif_dwca_amblyomma_americanum_NOT_FUNGI.zip"

CHAMPY = """
import json, resource, sys, time
from champy.data.ingest import ingest
start = time.monotonic()
report = ingest(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": time.monotonic() - start, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "images": report["images"]}))
"""

PANDAS = """
import csv, json, resource, sys, time
limit = int(float(sys.argv[2]) * 2**30)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import pandas as pd
start = time.monotonic()
try:
    occurrences = pd.read_csv(sys.argv[1] + "/occurrence.txt", sep="\\t", quoting=csv.QUOTE_NONE)
    media = pd.read_csv(sys.argv[1] + "/multimedia.txt", sep="\\t", quoting=csv.QUOTE_NONE)
    outcome = f"read {len(occurrences) + len(media)} rows"
except MemoryError:
    outcome = f"MemoryError (address space capped at {sys.argv[2]} GB)"
print(json.dumps({"seconds": time.monotonic() - start, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}))
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
        for name, rows in (("occurrence.txt", occurrences), ("multimedia.txt", media)):
            header, *lines = source.read(name).decode("utf-8").splitlines(keepends=True)
            with open(folder / name, "w", encoding="utf-8") as sink:
                sink.write(header)
                sink.writelines(_repeat(lines, rows))


def _run(code: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        return {"seconds": float("nan"), "rss_mb": float("nan"), "outcome": result.stderr.strip().splitlines()[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--occurrences", type=int, default=2_300_000)
    parser.add_argument("--media", type=int, default=1_400_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/champy-ingest-bench"))
    parser.add_argument("--pandas-limit-gb", type=float, default=8.0, help="address-space cap for the pandas run")
    args = parser.parse_args()
    archive, out = args.work / "archive", args.work / "out"
    build_archive(archive, args.occurrences, args.media)
    size_mb = sum(f.stat().st_size for f in archive.iterdir()) / 2**20
    rows = args.occurrences + args.media
    print(f"archive: {args.occurrences:,} occurrence rows + {args.media:,} multimedia rows, {size_mb:,.0f} MB of text")
    try:
        champy = _run(CHAMPY, str(archive), str(out))
        pandas = _run(PANDAS, str(archive), str(args.pandas_limit_gb))
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    print(f"{'reader':<28}{'seconds':>10}{'rows/s':>14}{'peak RSS MB':>14}  outcome")
    for name, result, outcome in (("champy ingest (DuckDB)", champy, f"{champy.get('images', '?')} images joined"),
                                  ("pandas read_csv", pandas, pandas.get("outcome", ""))):
        print(f"{name:<28}{result['seconds']:>10.1f}{rows / result['seconds']:>14,.0f}{result['rss_mb']:>14,.0f}  "
              f"{result.get('outcome', outcome)}")


if __name__ == "__main__":
    main()
