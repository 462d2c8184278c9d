"""Where each labelled photo comes from: its collection (a photographer, an app, a scraped set).

Source and class are confounded in the curated photos (see `../shared/data/photos/SOURCES.md`), so figures are
reported per source and some collections are kept for testing only. A row's source is its `source_repo` without
the commit, else "Wikimedia Commons" for photos whose `source_page` is a Commons page, else its `via`, else "".
"""

from __future__ import annotations

import pandas as pd

COMMONS = "Wikimedia Commons"
NEW_SOURCES_FOR_TESTING = ("KBalint2003/GombaTura",)
"""Collections of `../shared/data/photos_new_sources` that nothing is ever fitted on: the cross-source test (the
folder is split by whole source, never by photo)."""
NEW_SOURCES_FOR_THRESHOLDS = ("hendersonreed/hendersonreed.github.io",)
"""Collections of that folder that fit thresholds (the vouch margin) but never train a network; the others may."""


def photo_sources(table: pd.DataFrame) -> pd.Series:
    """The source of each row of a labelled table (`champy.data.labelled.load_labelled`)."""

    def one(row: pd.Series) -> str:
        repo = str(row.get("source_repo", "") or "")
        if repo:
            return repo.split("@")[0]
        if "commons.wikimedia.org" in str(row.get("source_page", "") or ""):
            return COMMONS
        return str(row.get("via", "") or "").split("@")[0]

    return table.apply(one, axis=1) if len(table) else pd.Series([], dtype=str)


def without_sources(table: pd.DataFrame, held_out: tuple[str, ...]) -> pd.DataFrame:
    """The rows whose source is not one of `held_out`."""
    return table[~photo_sources(table).isin(held_out)].reset_index(drop=True)
