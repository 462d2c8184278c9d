"""How often does an answer make a dangerous mushroom look safe? The false-safe rate of every shipped model.

For each model with a safety profile, every photo is identified with `identify` (gate, open set, risk) and counted
by its risk level:
  unseen deadly    photos of deadly species the model has no class for (the shipped reference photos of
                   A. phalloides, A. pantherina, Galerina marginata, Gyromitra esculenta); each photo is scored with
                   itself left out of the look-alike bank, so no photo is compared with itself
  deadly, test     photos of the model's deadly classes in its test split (never trained on)
  deadly, all      every photo of a deadly species we have (the labelled photos, including the model's training
                   photos, marked, and every deadly reference photo)
  poisonous        the same for poisonous species: test-split photos and unseen reference photos
  edible, test     test-split photos of edible species: share answered with the right species at level "low",
                   outside the genera with deadly look-alikes and inside them
The false-safe rate is the share of dangerous photos answered "low" (goal: 0).

    python benchmarks/safety.py [--models NAME ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from champy.data.labelled import load_labelled
from champy.edibility import lookup
from champy.inference import available_models, identify, load_model
from champy.inference.model import ChampyModel
from champy.paths import DATA_DIR, SHARED_DIR
from champy.safety.fit import leaving_out
from champy.safety.genera import dangerous_genera
from champy.training.prepare import prepare

PHOTOS = SHARED_DIR / "data" / "photos"
REFERENCES = DATA_DIR / "reference_photos"


def levels(model: ChampyModel, rows: pd.DataFrame, leave_out: bool = False) -> list[tuple[str, str]]:
    """(risk level, answered species) for each photo."""
    answers = []
    for path in rows["path"]:
        with leaving_out(model, path) if leave_out else contextlib.nullcontext():
            result = identify(path, model, explain=False)
        answers.append((result.risk.level, result.species[0].name if result.species else ""))
    return answers


def summary(answers: list[tuple[str, str]]) -> dict:
    counts = Counter(level for level, _ in answers)
    n = len(answers)
    return {"photos": n, **{level: counts.get(level, 0) for level in ("deadly", "poisonous", "uncertain", "low")},
            "false_safe": counts.get("low", 0) / n if n else 0.0}


def evaluate(name: str) -> dict:
    model = load_model(name)
    config = model.card.get("training", {}).get("config", {})
    table = load_labelled(PHOTOS, model.card["rank"])
    prepared = prepare(table, int(config.get("min_per_class", 15)), bool(config.get("other_class", True)),
                       int(config.get("seed", 42)))
    test = prepared.rows("test")
    classes = {label["name"] for label in model.labels}
    refs = load_labelled(REFERENCES, "species")
    status = lambda frame: frame["species"].map(lambda s: lookup(s).status)  # noqa: E731
    unseen = refs[~refs["species"].isin(classes)]
    every_deadly = table[status(table) == "deadly"]
    trained = set(prepared.rows("train")["path"]) | set(prepared.rows("val")["path"])
    test_answers = levels(model, test)
    edible = [status(test) .isin(["edible", "choice"]).to_numpy(), test["species"].isin(classes).to_numpy()]
    outside = ~test["genus"].isin(dangerous_genera()).to_numpy()
    right_low = [lvl == "low" and answer == truth for (lvl, answer), truth in zip(test_answers, test["species"])]

    def share(mask) -> dict:
        picked = [ok for ok, keep in zip(right_low, mask) if keep]
        return {"photos": len(picked), "right_and_low": sum(picked) / len(picked) if picked else 0.0}

    pick = lambda frame, which: frame[status(frame) == which]  # noqa: E731
    return {
        "model": name,
        "unseen deadly": summary(levels(model, pick(unseen, "deadly"), leave_out=True)),
        "deadly, test": summary([a for a, s in zip(test_answers, status(test)) if s == "deadly"]),
        "deadly, all we have": {
            **summary(levels(model, every_deadly) + levels(model, pick(refs, "deadly"), leave_out=True)),
            "of which trained on": int(every_deadly["path"].isin(trained).sum()),
        },
        "poisonous, test": summary([a for a, s in zip(test_answers, status(test)) if s == "poisonous"]),
        "unseen poisonous": summary(levels(model, pick(unseen, "poisonous"), leave_out=True)),
        "edible, test, outside dangerous genera": share(edible[0] & edible[1] & outside),
        "edible, test, in dangerous genera": share(edible[0] & edible[1] & ~outside),
    }


def print_report(report: dict) -> None:
    print(f"\n{report['model']}")
    print(f"  {'photos':<40} {'n':>4} {'deadly':>7} {'poison':>7} {'uncert':>7} {'low':>5} {'false-safe':>11}")
    for key, row in report.items():
        if isinstance(row, dict) and "false_safe" in row:
            extra = f"  ({row['of which trained on']} trained on)" if "of which trained on" in row else ""
            print(f"  {key:<40} {row['photos']:>4} {row['deadly']:>7} {row['poisonous']:>7} {row['uncertain']:>7} "
                  f"{row['low']:>5} {row['false_safe']:>10.1%}{extra}")
        elif isinstance(row, dict):
            print(f"  {key:<40} {row['photos']:>4}   right species at level low: {row['right_and_low']:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: every shipped model with a profile")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not PHOTOS.is_dir():
        raise SystemExit(f"needs the labelled photos in {PHOTOS} (set CHAMPY_SHARED_DIR)")
    names = args.models or [n for n in available_models() if load_model(n).safety is not None]
    reports = [evaluate(name) for name in names]
    for report in reports:
        print_report(report)
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
