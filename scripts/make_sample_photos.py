"""Copy the freely licensed photos of the curated collection into `data/sample_photos/`.

Keeps only Creative Commons photos that allow commercial reuse (no NC), shrinks them to a longest
side of 384 px (JPEG quality 88), and writes `photos.csv` with species, taxonomy, licence, author
and source URL for each one. Usage: python scripts/make_sample_photos.py ../shared/data/photos
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from PIL import Image

from champy.atomic import atomic_path, write_text

LONGEST_SIDE = 384


def main(source: Path, target: Path) -> None:
    table = pd.read_csv(source / "photos.csv", dtype=str, keep_default_na=False)
    free = table[table["license"].str.startswith("CC") & ~table["license"].str.contains("NC")].copy()
    for relative in free["path"]:
        with Image.open(source / relative) as image:
            image = image.convert("RGB")
            image.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
            with atomic_path(target / relative) as tmp:
                image.save(tmp, format="JPEG", quality=88)
    columns = ["path", "species", "genus", "family", "order", "license", "author", "url", "source_repo"]
    write_text(target / "photos.csv", free[columns].to_csv(index=False))
    print(f"{len(free)} photos of {free['species'].nunique()} species written to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent / "data" / "sample_photos")
