"""How far can a vouch threshold go on the features the shipped networks compute? The bound behind the vouch rule.

Each photo (the validation and test splits of `../shared/data/photos`, the licensed reference photos, and every
photo of `../shared/data/photos_new_sources`) goes through the default ensemble once. For every answer that could be
"low" at all (more likely than not and than "other fungi", the networks agreeing, a species rated safe outside the
dangerous genera) three scores are read:
  margin    the vouch margin (`champy.safety.vouch.evidence`; a reference photo with its author's photos of its
            species left out of the bank)
  gap       the calibrated probability of the answer minus that of the next class
  purity    the share of the answered species among the 10 photos of the vouch bank most like the photo
Reported:
  auc       how well each score tells right answers from wrong ones (ROC AUC), over all such answers and over the
            answers naming a bolete (Boletus edulis, Neoboletus erythropus)
  fitted    the rule (a threshold on each score) that keeps the most right answers among the fitting photos
            (validation, reference photos, the fitting collections of photos_new_sources) with no wrong one there,
            and what it does on the test split's edible photos and on the testing collections
  ceiling   the same, fitted on every photo but the test split's, the testing collections included: NOT a result
            (it looks at the new-source test photos), the most any such rule could reach on the test split
The counts ignore the danger routes (probability, look-alike...), which can only lower the number of "low" answers.

    python benchmarks/vouch_ceiling.py [--json benchmarks/results/vouch_ceiling.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from champy.data.labelled import load_labelled
from champy.data.sources import NEW_SOURCES_FOR_TESTING, NEW_SOURCES_FOR_THRESHOLDS, photo_sources
from champy.edibility import lookup
from champy.evaluation.photos import embed_photos, shown_path, siblings
from champy.inference import load_model
from champy.inference.ensemble import Model
from champy.paths import DATA_DIR, DEFAULT_MODEL, SHARED_DIR
from champy.safety.genera import dangerous_genera
from champy.safety.vouch import evidence
from champy.training.safety_fit import trainer_split
from champy.training.vouch_fit import low_candidate

PHOTOS = SHARED_DIR / "data" / "photos"
NEW_SOURCES = SHARED_DIR / "data" / "photos_new_sources"
REFERENCES = DATA_DIR / "reference_photos"
BOLETES = ("Boletus edulis", "Neoboletus erythropus")
NEAREST = 10
GRID = {
    "margin": np.arange(-0.05, 0.30, 0.005),
    "gap": np.arange(0.0, 1.0, 0.02),
    "purity": np.arange(0.0, 1.01, 0.2),
}


def photo_table(model: Model) -> pd.DataFrame:
    """Every photo with its species, its part (val, test, reference, new-fit, new-test) and its author's siblings."""
    split = trainer_split(model, PHOTOS)
    refs = load_labelled(REFERENCES, "species")
    new = load_labelled(NEW_SOURCES, "species")
    sources = photo_sources(new)
    part = np.where(sources.isin(NEW_SOURCES_FOR_TESTING), "new-test", "new-other")
    part = np.where(sources.isin(NEW_SOURCES_FOR_THRESHOLDS), "new-fit", part)
    frames = [
        split.rows("val")[["path", "species"]].assign(part="val"),
        split.rows("test")[["path", "species"]].assign(part="test"),
        refs[["path", "species"]].assign(part="reference"),
        new[["path", "species"]].assign(part=part),
    ]
    table = pd.concat(frames, ignore_index=True)
    held = [siblings(refs, p, "author") if kind == "reference" else [] for p, kind in zip(table["path"], table["part"])]
    return table.assign(held=held)


def scores(model: Model, table: pd.DataFrame) -> pd.DataFrame:
    """The answer of each photo, whether it could be "low", whether it is right, and its three scores."""
    classes = {label["name"] for i, label in enumerate(model.labels) if i != model.other_index}
    paths = [str(p) for p in table["path"]]
    embedded = embed_photos(model, paths)
    _, members = model.predict_with_members(paths)
    bank = model.safety.vouch
    rows = []
    for row, (probs, embedding) in enumerate(zip(embedded.probs, embedded.embeddings)):
        answer, possible = low_candidate(model, probs, None if members is None else members[:, row])
        own_bank = bank.without({shown_path(p) for p in table["held"].iloc[row]})
        found = evidence(embedding, answer, own_bank, classes)
        nearest = np.argsort(own_bank.embeddings @ embedding)[-NEAREST:]
        rows.append(
            {
                "answer": answer,
                "eligible": possible and found is not None,
                "margin": found.margin if found is not None else -1.0,
                "gap": float(np.sort(probs)[-1] - np.sort(probs)[-2]),
                "purity": float(np.mean([own_bank.species[i] == answer for i in nearest])),
            }
        )
    frame = pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    return frame.assign(right=frame["answer"] == frame["species"])


def auc(right: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of `score` for right (True) against wrong answers (ties count half), None without both."""
    good, bad = score[right], score[~right]
    if not len(good) or not len(bad):
        return None
    wins = (good[:, None] > bad[None, :]).sum() + 0.5 * (good[:, None] == bad[None, :]).sum()
    return round(float(wins / (len(good) * len(bad))), 3)


def passes(frame: pd.DataFrame, rule: tuple[float, float, float]) -> np.ndarray:
    margin, gap, purity = rule
    return (
        frame["eligible"].to_numpy()
        & (frame["margin"].to_numpy() >= margin - 1e-9)
        & (frame["gap"].to_numpy() >= gap - 1e-9)
        & (frame["purity"].to_numpy() >= purity - 1e-9)
    )


def best_rule(fitting: pd.DataFrame) -> tuple[float, float, float]:
    """The thresholds keeping the most right answers of `fitting` with no wrong one (the strictest among ties)."""
    right = fitting["right"].to_numpy()
    best, kept = (1.0, 1.0, 1.0), -1
    for rule in itertools.product(*GRID.values()):
        low = passes(fitting, rule)
        if not (low & ~right).any() and (low & right).sum() > kept:
            best, kept = rule, int((low & right).sum())
    return tuple(round(float(value), 3) for value in best)


def outcome(frame: pd.DataFrame, edible: np.ndarray, rule: tuple[float, float, float]) -> dict:
    """What `rule` does: right answers at "low" among the test split's edible photos, and the testing collections'
    "low" answers, right and wrong."""
    test, new = frame[frame["part"] == "test"], frame[frame["part"] == "new-test"]
    low_test, low_new = passes(test, rule), passes(new, rule)
    hits = low_test & test["right"].to_numpy() & edible
    return {
        "rule": dict(zip(GRID, rule)),
        "edible test photos right at low": f"{int(hits.sum())} of {int(edible.sum())}",
        "edible right at low share": round(float(hits.sum() / edible.sum()), 3),
        "new-source test low": int(low_new.sum()),
        "new-source test low with the wrong species": int((low_new & ~new["right"].to_numpy()).sum()),
    }


def report(frame: pd.DataFrame, classes: set[str]) -> dict:
    test = frame[frame["part"] == "test"]
    status = test["species"].map(lambda s: lookup(s).status)
    edible = (
        status.isin(["edible", "choice"]) & test["species"].isin(classes) & ~test["genus"].isin(dangerous_genera())
    ).to_numpy()
    eligible = frame[frame["eligible"]]
    boletes = eligible[eligible["answer"].isin(BOLETES)]
    fitting = frame[frame["part"].isin(["val", "reference", "new-fit"])]
    beyond_test = frame[frame["part"] != "test"]
    return {
        "photos": frame["part"].value_counts().to_dict(),
        "answers that could be low": int(len(eligible)),
        "auc": {
            score: {
                "all": auc(eligible["right"].to_numpy(), eligible[score].to_numpy()),
                "boletes": auc(boletes["right"].to_numpy(), boletes[score].to_numpy()),
            }
            for score in GRID
        },
        "fitted": outcome(frame, edible, best_rule(fitting)),
        "ceiling (looks at the test collections)": outcome(frame, edible, best_rule(beyond_test)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("results") / "vouch_ceiling.json")
    args = parser.parse_args()
    model = load_model(args.model)
    table = photo_table(model)
    frame = scores(model, table)
    frame["genus"] = frame["species"].str.split().str[0]
    classes = {label["name"] for i, label in enumerate(model.labels) if i != model.other_index}
    result = {"model": args.model, **report(frame, classes)}
    print(json.dumps(result, indent=1))
    args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
