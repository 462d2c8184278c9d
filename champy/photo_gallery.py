"""The licensed photos the app may show: the sample photos and the reference photos, as one catalogue.

Both folders hold `<Genus_species>/<file>.jpg` and a `photos.csv` naming each photo's species, author, licence
and source page; they spell the licence and source columns differently, and this module reads both.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from champy.paths import DATA_DIR

GALLERY_FOLDERS = (DATA_DIR / "sample_photos", DATA_DIR / "reference_photos")
"""The shipped folders of licensed photos, in the order their photos are shown."""
COLUMNS = ["species", "file", "author", "license", "url"]
RENAMED = {"licence": "license", "source_page": "url"}


def read_catalogue(folder: Path) -> pd.DataFrame:
    """The photos of `folder/photos.csv` whose file exists, with columns `COLUMNS` (none when there is no csv)."""
    csv = folder / "photos.csv"
    if not csv.is_file():
        return pd.DataFrame(columns=COLUMNS)
    catalogue = pd.read_csv(csv, dtype=str, keep_default_na=False).rename(columns=RENAMED)
    catalogue["file"] = [folder / path for path in catalogue["path"]]
    for column in COLUMNS:
        if column not in catalogue:
            catalogue[column] = ""
    return catalogue.loc[[path.is_file() for path in catalogue["file"]], COLUMNS].reset_index(drop=True)


def licensed_photos(folders: tuple[Path, ...] = GALLERY_FOLDERS) -> pd.DataFrame:
    """Every licensed photo of `folders`, in folder order; only photos that carry a licence."""
    catalogue = pd.concat([read_catalogue(folder) for folder in folders], ignore_index=True)
    return catalogue[catalogue["license"].str.strip() != ""].reset_index(drop=True)


def first_photo_per_species(catalogue: pd.DataFrame, species: list[str]) -> pd.DataFrame:
    """One photo for each of `species` that has one, in the order of `species`."""
    firsts = catalogue.drop_duplicates("species").set_index("species")
    return firsts.loc[[name for name in species if name in firsts.index]].reset_index()
