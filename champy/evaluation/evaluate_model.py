"""`champy evaluate`: measure a saved model on a labelled photo folder.

Photos of the model's own classes give top-1/3/5 and per-class figures; photos of species it never
learned are counted as the open-set test (how many it answers "unknown"). By default only the test split
is scored: the split recorded with the photos (a `split` column in manifest.csv/photos.csv, as in the
sample photos), else the folder split exactly as the trainer split it, from the card's settings.
`split="all"` scores every photo, training photos included.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.data.splits import SPLITS
from champy.errors import ChampyError
from champy.evaluation.metrics import classification_metrics
from champy.paths import PROJECT_ROOT
from champy.scoring.calibration import apply_temperature
from champy.scoring.openset import flagged_share, open_set_score


def trained_on(card: dict, data_dir: str | Path) -> bool:
    """Whether the model with `card` was trained on the photos in `data_dir` (its card's data source)."""
    source = card.get("data", {}).get("source")
    if not source:
        return False
    path = Path(source) if Path(source).is_absolute() else PROJECT_ROOT / source
    return path.resolve() == Path(data_dir).resolve()


def split_rows(table: pd.DataFrame, split: str, config: dict, trained_here: bool = False) -> tuple[pd.DataFrame, str]:
    """The rows of `split` ("all" for every row) and how that split was known.

    On the model's own training folder the trainer's split rules (`trained_here`); elsewhere the split recorded
    with the photos, when there is one.
    """
    if split == "all":
        return table, "every photo, training photos included"
    if split not in SPLITS:
        raise ChampyError(f"split must be one of {', '.join(('all',) + SPLITS)}, not {split!r}")
    if not trained_here and "split" in table.columns and table["split"].isin(SPLITS).all():
        return table[table["split"] == split], "as recorded with the photos"
    prepared = prepare(
        table, int(config.get("min_per_class", 15)), bool(config.get("other_class", True)), int(config.get("seed", 42))
    )
    return prepared.rows(split), "split as the trainer split it"


def evaluate_model(model_name_or_path: str | Path, data_dir: str | Path, split: str = "test") -> dict:
    """Held-out figures of a model on the photos in `data_dir` (see the module docstring)."""
    from champy.inference import load_model

    model = load_model(model_name_or_path)
    config = model.card.get("training", {}).get("config", {})
    table, split_source = split_rows(
        load_labelled(data_dir, model.card["rank"]), split, config, trained_on(model.card, data_dir)
    )
    names = [label["name"] for label in model.labels]
    index = {name: i for i, name in enumerate(names) if i != model.other_index}
    known = table[table["label"].isin(index)]
    unseen = table[~table["label"].isin(index)]
    if known.empty:
        raise ChampyError(f"no photo of the {split} split of {data_dir} belongs to a class that {model.name} knows")
    raw, members = model.predict_with_members(list(known["path"]))
    probs = apply_temperature(raw, model.temperature)
    labels = known["label"].map(index).to_numpy()
    report = classification_metrics(probs, labels, names)
    unseen_scores = np.zeros(0)
    if len(unseen):
        unseen_raw, unseen_members = model.predict_with_members(list(unseen["path"]))
        unseen_probs = apply_temperature(unseen_raw, model.temperature)
        unseen_scores = open_set_score(unseen_probs, model.other_index, model.open_set_score, unseen_members)
    report["per_class"] = [row for row in report["per_class"] if row["name"] in index]
    return {
        "model": model.name,
        "data": str(data_dir),
        "split": split,
        "split_source": split_source,
        **report,
        "unseen_species_photos": int(len(unseen)),
        "unseen_species_flagged": flagged_share(unseen_scores, model.unknown_threshold),
        "known_flagged": flagged_share(
            open_set_score(probs, model.other_index, model.open_set_score, members), model.unknown_threshold
        ),
    }
