"""`champy evaluate`: measure a saved model on a labelled photo folder.

Photos of the model's own classes give top-1/3/5 and per-class figures; photos of species it never
learned are counted as the open-set test (how many it answers "unknown"). With `split="test"` (or
"val"/"train") the folder is split exactly as the trainer split it, from the card's settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from champy.calibration import apply_temperature
from champy.data.labelled import load_labelled
from champy.errors import ChampyError
from champy.training.evaluate import predict_rows
from champy.training.metrics import classification_metrics
from champy.training.openset import flagged_share, known_confidence
from champy.training.prepare import prepare


def evaluate_model(model_name_or_path: str | Path, data_dir: str | Path, split: str = "all") -> dict:
    """Held-out figures of a model on the photos in `data_dir` (see the module docstring)."""
    from champy.inference import load_model

    model = load_model(model_name_or_path)
    config = model.card.get("training", {}).get("config", {})
    table = load_labelled(data_dir, model.card["rank"])
    if split != "all":
        prepared = prepare(table, int(config.get("min_per_class", 15)), bool(config.get("other_class", True)), int(config.get("seed", 42)))
        table = prepared.rows(split)
    names = [label["name"] for label in model.labels]
    index = {name: i for i, name in enumerate(names) if i != model.other_index}
    known = table[table["label"].isin(index)]
    unseen = table[~table["label"].isin(index)]
    if known.empty:
        raise ChampyError(f"no photo in {data_dir} belongs to a class that {model.name} knows")
    probs = apply_temperature(predict_rows(model.keras_model, known), model.temperature)
    labels = known["label"].map(index).to_numpy()
    report = classification_metrics(probs, labels, names)
    unseen_scores = known_confidence(apply_temperature(predict_rows(model.keras_model, unseen), model.temperature), model.other_index) if len(unseen) else np.zeros(0)
    report["per_class"] = [row for row in report["per_class"] if row["name"] in index]
    return {
        "model": model.name, "data": str(data_dir), "split": split, **report,
        "unseen_species_photos": int(len(unseen)),
        "unseen_species_flagged": flagged_share(unseen_scores, model.unknown_threshold),
        "known_flagged": flagged_share(known_confidence(probs, model.other_index), model.unknown_threshold),
    }
