"""Fit a model's safety profile on photos it never trained on: `python -m champy fit-safety`.

The validation split (the trainer's, rebuilt from the card's settings) gives the model's known confusions and the
thresholds; the licensed reference photos of dangerous look-alikes without a class give the look-alike bank. Each
threshold leans to safety and is recorded with how it was chosen.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from champy.data.labelled import load_labelled
from champy.data.prepare import PreparedData, prepare
from champy.edibility import lookup
from champy.errors import ChampyError
from champy.evaluation.photos import Embedded, embed_photos, shown_path
from champy.inference.ensemble import Model
from champy.safety.genera import dangerous_genera
from champy.safety.profile import ReferencePhoto, SafetyProfile, Thresholds, ValidationAnswer, model_key_of
from champy.training.vouch_fit import choose_margin, fit_bank, fit_photos, may_be_low

TOXIC = ("deadly", "poisonous")
SIMILARITY_FALSE_ALARMS = 0.025
"""The look-alike alarm may ring on at most this share of validation photos of safe species."""
PROBABILITY_FALSE_ALARMS = 0.10
"""The probability and genus routes may ring on at most this share of validation photos of safe species."""


def trainer_split(model: Model, photos_dir: Path) -> PreparedData:
    """The labelled photos split exactly as the trainer split them for `model` (settings from its card)."""
    config = model.card.get("training", {}).get("config", {})
    table = load_labelled(photos_dir, model.card["rank"])
    return prepare(
        table, int(config.get("min_per_class", 15)), bool(config.get("other_class", True)), int(config.get("seed", 42))
    )


def validation_rows(model: Model, photos_dir: Path) -> pd.DataFrame:
    """The model's validation photos; stops when the folder no longer splits as the card says (leakage)."""
    rows = trainer_split(model, photos_dir).rows("val")
    counted = rows["label_index"].value_counts()
    for index, label in enumerate(model.labels):
        expected = label.get("count", {}).get("val")
        if expected is not None and int(counted.get(index, 0)) != int(expected):
            raise ChampyError(
                f"{photos_dir} does not split as {model.name} was trained ({label['name']}: "
                f"{counted.get(index, 0)} validation photos, the card says {expected}); "
                "fitting on it could use training photos"
            )
    return rows


def lookalike_references(model: Model, references_dir: Path) -> pd.DataFrame:
    """Reference photos of every deadly species, and of the poisonous ones the model has no class for."""
    table = load_labelled(references_dir, "species")
    classes = {label["name"] for label in model.labels}
    status = [lookup(s).status for s in table["species"]]
    keep = [st == "deadly" or (st == "poisonous" and s not in classes) for s, st in zip(table["species"], status)]
    return table[keep].reset_index(drop=True)


def _mass(probs: np.ndarray, indices: list[int]) -> np.ndarray:
    return probs[:, indices].sum(axis=1) if indices else np.zeros(len(probs))


def _ceiling(scores: np.ndarray, false_alarms: float, floor: float, cap: float) -> float:
    """The score that at most `false_alarms` of `scores` reach, kept within [floor, cap]."""
    if not len(scores):
        return cap
    return round(float(np.clip(np.quantile(scores, 1.0 - false_alarms), floor, cap)), 6)


def choose_thresholds(
    model: Model, val: Embedded, species: list[str], references: np.ndarray
) -> tuple[Thresholds, dict[str, str]]:
    """Thresholds from the validation photos of safe species outside the dangerous genera (the false alarms)."""
    names = [label["name"] for label in model.labels]
    known = [i for i in range(len(names)) if i != model.other_index]
    status_of = [lookup(names[i]).status for i in range(len(names))]
    deadly = [i for i in known if status_of[i] == "deadly"]
    toxic = [i for i in known if status_of[i] in TOXIC]
    risky_genera = [i for i in known if (model.labels[i].get("genus") or names[i].split()[0]) in dangerous_genera()]
    safe = np.array([may_be_low(s) and s in names for s in species], bool)
    share = f"at most {PROBABILITY_FALSE_ALARMS:.0%} of {int(safe.sum())} validation photos of safe species"
    thresholds = Thresholds(
        deadly_probability=_ceiling(_mass(val.probs[safe], deadly), PROBABILITY_FALSE_ALARMS, 0.005, 0.05),
        poisonous_probability=_ceiling(_mass(val.probs[safe], toxic), PROBABILITY_FALSE_ALARMS, 0.01, 0.10),
        dangerous_genus_probability=_ceiling(
            _mass(val.probs[safe], risky_genera), PROBABILITY_FALSE_ALARMS, 0.02, 0.15
        ),
        lookalike_similarity=_ceiling(
            (val.embeddings[safe] @ references.T).max(axis=1) if len(references) else np.zeros(0),
            SIMILARITY_FALSE_ALARMS,
            0.3,
            0.95,
        ),
    )
    how = {
        "deadly_probability": f"reached by {share}, within [0.005, 0.05]",
        "poisonous_probability": f"reached by {share}, within [0.01, 0.10]",
        "dangerous_genus_probability": f"reached by {share}, within [0.02, 0.15]",
        "lookalike_similarity": f"reached by at most {SIMILARITY_FALSE_ALARMS:.1%} of the same photos, within "
        "[0.3, 0.95]",
        "safe species": "classes rated edible, choice or inedible whose genus is not in data/dangerous_genera.csv",
    }
    return thresholds, how


def fit_profile(model: Model, photos_dir: Path, references_dir: Path, new_sources: Path | None = None) -> SafetyProfile:
    """The safety profile of `model` from its validation photos and the reference photos, with its vouch bank and
    margin (`champy.training.vouch_fit`; `new_sources`: the folder of photos from other collections, or None)."""
    val_rows = validation_rows(model, photos_dir)
    if val_rows.empty:
        raise ChampyError(f"no validation photo of {model.name} in {photos_dir}")
    every_reference = load_labelled(references_dir, "species")
    refs = lookalike_references(model, references_dir)
    val = embed_photos(model, list(val_rows["path"]))
    bank = embed_photos(model, list(refs["path"]))
    thresholds, how = choose_thresholds(model, val, list(val_rows["species"]), bank.embeddings)
    vouch = fit_bank(model, trainer_split(model, photos_dir), every_reference)
    fitted = choose_margin(model, vouch, fit_photos(val_rows, new_sources, every_reference), every_reference)
    how["vouch_margin"] = (
        f"above the margin of all {fitted.wrong} confident wrong answers (networks agreeing, of species that may be "
        "low) among the validation "
        f"photos, {'the fitting collections of ' + new_sources.name + ', ' if new_sources else ''}and the reference "
        f"photos (author held out); {fitted.right_kept} of {fitted.right} confident right answers there clear it"
    )
    answers = val.probs.argmax(axis=1)
    return SafetyProfile(
        model=model.name,
        labels=tuple(label["name"] for label in model.labels),
        model_created=str(model.card.get("created", "")),
        model_key=model_key_of(model.card),
        fitted_on=(
            f"validation split of {photos_dir.name} ({len(val_rows)} photos, split seed and settings from the "
            f"card); {len(refs)} reference photos of {refs['species'].nunique()} deadly or poisonous species; "
            f"vouch bank of {len(vouch.species)} photos"
        ),
        thresholds=dataclasses.replace(thresholds, vouch_margin=fitted.margin),
        validation=tuple(
            ValidationAnswer(int(a), round(float(p[a]), 5), str(s))
            for a, p, s in zip(answers, val.probs, val_rows["species"])
        ),
        references=tuple(
            ReferencePhoto(str(s), shown_path(p), e) for s, p, e in zip(refs["species"], refs["path"], bank.embeddings)
        ),
        how_chosen=how,
        vouch=vouch,
    )
