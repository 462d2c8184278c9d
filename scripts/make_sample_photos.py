"""Copy the freely licensed photos of the curated collection into `data/sample_photos/`.

Keeps only Creative Commons photos that allow commercial reuse (no NC), shrinks them to a longest
side of 384 px (JPEG quality 88), and writes `photos.csv` with species, taxonomy, licence, author,
source URL and `split`: the split each photo had when the shipped models were trained (the default
model card's settings), so that `champy evaluate` scores the sample photos the models never trained on.
Photos already copied are kept. Usage: python scripts/make_sample_photos.py ../shared/data/photos
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from PIL import Image

from champy.atomic import atomic_path, write_text
from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.inference.model import DEFAULT_MODEL, read_model_card

LONGEST_SIDE = 384
REPAIRED_AUTHORS = {
    "Du\u00ef\u00bf\u00bd\u00ef\u00bf\u00bdan": "Du\u0161an",
    "Paul V\u00ef\u00bf\u00bd\u00ef\u00bf\u00bdzina": "Paul V\u00e9zina",
}
"""Photographers' names the source manifest garbled (each non-ASCII letter's two UTF-8 bytes were replaced by two
U+FFFD, then read as Latin-1, so the letter is lost), as Mushroom Observer spells them."""


def training_split(source: Path) -> dict[str, str]:
    """The split of every photo of the collection (relative path -> train/val/test), as the trainer split it."""
    config = read_model_card(DEFAULT_MODEL)["training"]["config"]
    table = prepare(load_labelled(source), config["min_per_class"], config["other_class"], config["seed"]).table
    return {str(Path(path).relative_to(source)): split for path, split in zip(table["path"], table["split"])}


def main(source: Path, target: Path) -> None:
    table = pd.read_csv(source / "photos.csv", dtype=str, keep_default_na=False)
    free = table[table["license"].str.startswith("CC") & ~table["license"].str.contains("NC")].copy()
    for relative in free["path"]:
        if (target / relative).is_file():
            continue
        with Image.open(source / relative) as image:
            image = image.convert("RGB")
            image.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.LANCZOS)
            with atomic_path(target / relative) as tmp:
                image.save(tmp, format="JPEG", quality=88)
    free["author"] = free["author"].replace(REPAIRED_AUTHORS)
    free["split"] = free["path"].map(training_split(source))
    columns = ["path", "species", "genus", "family", "order", "license", "author", "url", "source_repo", "split"]
    write_text(target / "photos.csv", free[columns].to_csv(index=False))
    print(f"{len(free)} photos of {free['species'].nunique()} species written to {target}")
    print("split:", free["split"].value_counts().to_dict())


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).resolve().parent.parent / "data" / "sample_photos")
