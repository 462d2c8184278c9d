"""How often does an answer make a dangerous mushroom look safe? The false-safe rate of every shipped model.

For each model with a safety profile, every photo is identified with `identify` (gate, open set, risk) and counted
by its risk level:
  unseen deadly    photos of deadly species the model has no class for (the shipped reference photos of 10
                   species: Amanita phalloides, pantherina, verna, Galerina, Gyromitra, Cortinarius orellanus and
                   rubellus, Lepiota brunneoincarnata, Inocybe erubescens, Paxillus involutus); each photo is scored
                   with its siblings left out of the look-alike and vouch banks: every photo of its species by the
                   same author (same outing or specimen), or, stricter, every photo of its species
  deadly, test     photos of the model's deadly classes in its test split (never trained on)
  deadly, all      every photo of a deadly species we have (the labelled photos, including the model's training
                   photos, marked, and every deadly reference photo)
  poisonous        the same for poisonous species: test-split photos and unseen reference photos
  edible, test     test-split photos of edible species: share answered with the right species at level "low",
                   outside the genera with deadly look-alikes and inside them
The false-safe rate is the share of dangerous photos answered "low" (goal: 0).

    python benchmarks/safety.py [--models NAME ...] [--json benchmarks/results/safety.json]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from champy.data.labelled import load_labelled
from champy.edibility import lookup
from champy.evaluation.photos import identify_held_out
from champy.inference import available_models, load_model
from champy.inference.ensemble import Model
from champy.paths import DATA_DIR, SHARED_DIR
from champy.safety.genera import dangerous_genera
from champy.training.safety_fit import trainer_split

PHOTOS = SHARED_DIR / "data" / "photos"
REFERENCES = DATA_DIR / "reference_photos"


def levels(
    model: Model, rows: pd.DataFrame, hold_out: pd.DataFrame | None = None, by: str = "author"
) -> list[tuple[str, str]]:
    """(risk level, answered species) for each photo; with `hold_out` (the reference table), each photo is scored
    with its siblings in that table left out of the look-alike bank."""
    answers = []
    for path in rows["path"]:
        result = identify_held_out(model, path, hold_out, by)
        answers.append((result.risk.level, result.species[0].name if result.species else ""))
    return answers


def summary(answers: list[tuple[str, str]]) -> dict:
    counts = Counter(level for level, _ in answers)
    n = len(answers)
    return {
        "photos": n,
        **{level: counts.get(level, 0) for level in ("deadly", "poisonous", "uncertain", "low")},
        "false_safe": counts.get("low", 0) / n if n else 0.0,
    }


def statuses(frame: pd.DataFrame) -> pd.Series:
    return frame["species"].map(lambda species: lookup(species).status)


def right_and_low(answers: list[tuple[str, str]], truth: pd.Series, mask: np.ndarray) -> dict:
    """Share of the masked photos answered with their own species at level "low"."""
    hits = [level == "low" and answer == true for (level, answer), true, keep in zip(answers, truth, mask) if keep]
    return {"photos": len(hits), "right_and_low": sum(hits) / len(hits) if hits else 0.0}


def evaluate(name: str) -> dict:
    model = load_model(name)
    split = trainer_split(model, PHOTOS)
    test, table = split.rows("test"), split.table
    classes = {label["name"] for label in model.labels}
    refs = load_labelled(REFERENCES, "species")
    unseen = refs[~refs["species"].isin(classes)]
    unseen_deadly, unseen_poisonous = unseen[statuses(unseen) == "deadly"], unseen[statuses(unseen) == "poisonous"]
    every_deadly = table[statuses(table) == "deadly"]
    trained = set(split.rows("train")["path"]) | set(split.rows("val")["path"])
    test_answers = levels(model, test)
    test_status = statuses(test).to_numpy()
    edible = np.isin(test_status, ["edible", "choice"]) & test["species"].isin(classes).to_numpy()
    outside = ~test["genus"].isin(dangerous_genera()).to_numpy()
    return {
        "model": name,
        "unseen deadly, author held out": summary(levels(model, unseen_deadly, refs, "author")),
        "unseen deadly, species held out": summary(levels(model, unseen_deadly, refs, "species")),
        "deadly, test": summary([a for a, s in zip(test_answers, test_status) if s == "deadly"]),
        "deadly, all we have": {
            **summary(levels(model, every_deadly) + levels(model, refs[statuses(refs) == "deadly"], refs)),
            "of which trained on": int(every_deadly["path"].isin(trained).sum()),
        },
        "poisonous, test": summary([a for a, s in zip(test_answers, test_status) if s == "poisonous"]),
        "unseen poisonous, author held out": summary(levels(model, unseen_poisonous, refs, "author")),
        "edible, test, outside dangerous genera": right_and_low(test_answers, test["species"], edible & outside),
        "edible, test, in dangerous genera": right_and_low(test_answers, test["species"], edible & ~outside),
    }


def print_report(report: dict) -> None:
    print(f"\n{report['model']}")
    print(f"  {'photos':<40} {'n':>4} {'deadly':>7} {'poison':>7} {'uncert':>7} {'low':>5} {'false-safe':>11}")
    for key, row in report.items():
        if isinstance(row, dict) and "false_safe" in row:
            extra = f"  ({row['of which trained on']} trained on)" if "of which trained on" in row else ""
            print(
                f"  {key:<40} {row['photos']:>4} {row['deadly']:>7} {row['poisonous']:>7} {row['uncertain']:>7} "
                f"{row['low']:>5} {row['false_safe']:>10.1%}{extra}"
            )
        elif isinstance(row, dict):
            print(f"  {key:<40} {row['photos']:>4}   right species at level low: {row['right_and_low']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: every shipped model with a profile")
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).with_name("results") / "safety.json",
        help="where the figures are written (kept in the repository: the README's safety table comes from it)",
    )
    args = parser.parse_args()
    if not PHOTOS.is_dir():
        raise SystemExit(f"needs the labelled photos in {PHOTOS} (set CHAMPY_SHARED_DIR)")
    names = args.models or [n for n in available_models() if load_model(n).safety is not None]
    reports = [evaluate(name) for name in names]
    for report in reports:
        print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(reports, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
