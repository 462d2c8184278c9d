"""Read a labelled image dataset into one table: a manifest CSV, or a folder of class sub-folders.

Accepted layouts for `DIR`:
- `DIR/manifest.csv` (written by `champy dataset build`), or `DIR/photos.csv` (the same columns,
  as in the curated photo collection): `path` relative to DIR, `species`, `genus`, and optionally
  `family`, `order`, `label`, `split`, `gbifID`, `license`, `author`, `url`;
- `DIR/<Class_name>/*.jpg`: one sub-folder per class (underscores read as spaces; the genus is the
  first word of a binomial).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from champy.errors import ChampyError
from champy.path_kind import folder_problem

MANIFEST_NAMES = ("manifest.csv", "photos.csv")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic", ".heif"}
TAXONOMY = ("species", "genus", "family", "order")
ATTRIBUTION = ("license", "author", "url")


def _from_manifest(manifest: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ChampyError(f"cannot read manifest {manifest}: {exc}") from exc
    missing = {"path", "species"} - set(table.columns)
    if missing:
        raise ChampyError(f"manifest {manifest} lacks the column(s): {', '.join(sorted(missing))}")
    if "genus" not in table.columns:
        table["genus"] = table["species"].str.split().str[0]
    table["path"] = [str(manifest.parent / p) for p in table["path"]]
    return table


def _from_folders(root: Path) -> pd.DataFrame:
    rows = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = class_dir.name.replace("_", " ").strip()
        for image in sorted(class_dir.rglob("*")):
            if image.suffix.lower() in IMAGE_SUFFIXES and image.is_file():
                rows.append({"path": str(image), "species": name, "genus": name.split()[0]})
    return pd.DataFrame(rows, columns=["path", "species", "genus"])


def load_labelled(data_dir: str | Path, rank: str = "species") -> pd.DataFrame:
    """One row per image with absolute `path`, `label` (the class at `rank`) and taxonomy columns."""
    if rank not in ("species", "genus"):
        raise ChampyError(f"rank must be 'species' or 'genus', not {rank!r}")
    root = Path(data_dir)
    problem = folder_problem(root)
    if problem:
        raise ChampyError(f"dataset {problem}: {root}")
    manifest = next((root / name for name in MANIFEST_NAMES if (root / name).is_file()), None)
    table = _from_manifest(manifest) if manifest else _from_folders(root)
    if table.empty:
        raise ChampyError(f"no labelled images found in {root}")
    for column in (*TAXONOMY, *ATTRIBUTION):
        if column not in table.columns:
            table[column] = ""
    table["label"] = table[rank].where(table[rank] != "", table.get("label", ""))
    table = table[table["label"] != ""].reset_index(drop=True)
    relative = [str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else p for p in table["path"]]
    stable_id = table["gbifID"] if "gbifID" in table.columns else pd.Series("", index=table.index)
    table["id"] = stable_id.where(stable_id != "", pd.Series(relative, index=table.index))
    return table
