"""Fit an ensemble of shipped species models on their validation photos: `python -m champy fit-ensemble`.

Members and weights are chosen by greedy forward selection with replacement: start from the member whose calibrated
probabilities have the lowest validation negative log-likelihood (NLL), then add, one step at a time, the member
whose addition lowers it most (a member may be added again, which raises its weight), using at most `max_members`
different models; the weights are those after the step with the lowest validation NLL. The ensemble's temperature
and unknown-species threshold are fitted on the same validation photos; the card's figures come from the test
split, which neither the members nor the ensemble were fitted on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from champy.errors import ChampyError
from champy.evaluation.held_out import held_out_report
from champy.inference.ensemble import fuse
from champy.inference.gate import gate_file
from champy.inference.loader import load_model
from champy.inference.model import ChampyModel
from champy.models.card import CARD_VERSION, ENSEMBLE_SUFFIX, software_versions, write_card
from champy.paths import MODELS_DIR
from champy.scoring.calibration import apply_temperature, negative_log_likelihood
from champy.training.config import ENSEMBLE_MAX_KNOWN_FLAGGED
from champy.training.safety_fit import trainer_split, validation_rows

SPLIT_SETTINGS = ("min_per_class", "other_class", "seed")


@dataclass
class Selection:
    """The chosen members (name -> weight), the validation NLL after each step and how many steps were kept."""

    weights: dict[str, float]
    steps: list[tuple[str, float]]
    kept: int


def select_members(val_probs: dict[str, np.ndarray], labels: np.ndarray, steps: int, max_members: int) -> Selection:
    """Greedy forward selection with replacement on validation NLL (see the module docstring)."""
    chosen: list[str] = []
    history = []
    for _ in range(steps):
        allowed = [n for n in val_probs if n in chosen or len(set(chosen)) < max_members]
        losses = {
            n: negative_log_likelihood(fuse([val_probs[m] for m in [*chosen, n]], [1.0] * (len(chosen) + 1)), labels)
            for n in allowed
        }
        best = min(losses, key=losses.get)
        chosen.append(best)
        history.append((best, round(losses[best], 5)))
    best = int(np.argmin([loss for _, loss in history])) + 1  # the prefix with the lowest validation NLL
    counts = Counter(chosen[:best])
    return Selection({name: count / best for name, count in counts.most_common()}, history, best)


def _same_training_data(models: list[ChampyModel]) -> None:
    """Stop unless every candidate has the same classes and was trained on the same split."""
    first = models[0]
    for model in models[1:]:
        if [label["name"] for label in model.labels] != [label["name"] for label in first.labels]:
            raise ChampyError(f"{model.name} and {first.name} do not have the same classes")
        settings = [model.card["training"]["config"].get(key) for key in SPLIT_SETTINGS]
        if settings != [first.card["training"]["config"].get(key) for key in SPLIT_SETTINGS] or (
            model.card["split"]["counts"] != first.card["split"]["counts"]
        ):
            raise ChampyError(f"{model.name} and {first.name} were not trained on the same split")


def _gate_member(members: list[ChampyModel]) -> str:
    """The member whose gate rejected the most hard negatives on held-out sources (the gate files' figures)."""

    def hard(model: ChampyModel) -> float:
        return float(json.loads(gate_file(model.gate_backbone).read_text())["measured"]["hard_rejected"])

    return max(members, key=hard).name


def fit_ensemble(
    candidates: list[str],
    photos_dir: Path,
    name: str,
    steps: int = 10,
    max_members: int = 3,
    out: Path | None = None,
    max_known_flagged: float = ENSEMBLE_MAX_KNOWN_FLAGGED,
) -> dict:
    """Choose members and weights, calibrate, set the unknown threshold to flag at most `max_known_flagged` of the
    known validation photos, measure on the test split and write the card (default: `models/<name>.ensemble.json`)."""
    if len(candidates) < 2:
        raise ChampyError("an ensemble needs at least two candidate models")
    models = [load_model(c) for c in candidates]
    if any(not isinstance(m, ChampyModel) for m in models):
        raise ChampyError("the candidates must be single models, not ensembles")
    _same_training_data(models)
    first = models[0]
    val = validation_rows(first, photos_dir)
    for model in models[1:]:
        validation_rows(model, photos_dir)  # each member's own leakage guard
    test = trainer_split(first, photos_dir).rows("test")
    val_labels, test_labels = val["label_index"].to_numpy(), test["label_index"].to_numpy()
    calibrated = {
        split: {m.name: apply_temperature(m.predict_paths(list(rows["path"])), m.temperature) for m in models}
        for split, rows in (("val", val), ("test", test))
    }
    selection = select_members(calibrated["val"], val_labels, steps, max_members)
    names = list(selection.weights)
    weights = [selection.weights[n] for n in names]
    fused = {split: fuse([probs[n] for n in names], weights) for split, probs in calibrated.items()}
    members = {split: np.stack([probs[n] for n in names]) for split, probs in calibrated.items()}
    config = first.card["training"]["config"]
    labels = [label["name"] for label in first.labels]
    report = held_out_report(
        fused["val"],
        val_labels,
        fused["test"],
        test_labels,
        labels,
        first.other_index,
        max_known_flagged,
        (members["val"], members["test"]),
    )
    by_name = {m.name: m for m in models}
    card = {
        "card_version": CARD_VERSION,
        "name": name,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backbone": "ensemble",
        "members": [
            {"model": n, "weight": round(w, 4), "backbone": by_name[n].backbone, "created": by_name[n].card["created"]}
            for n, w in zip(names, weights)
        ],
        "gate_member": _gate_member([by_name[n] for n in names]),
        "weights": {"requested": "members", "source": "the members' fine-tuned weights", "pretrained": True},
        "input": {
            "size": max(by_name[n].size for n in names),
            "pixels": "RGB 0..255 float32, one square input per member size",
            "resize": first.card["input"]["resize"],
            "normalisation": "each member's own (inside the member)",
        },
        "rank": first.card["rank"],
        "labels": first.labels,
        "other_index": first.other_index,
        "data": first.card["data"],
        "split": first.card["split"],
        "metrics": {
            "measured_on": f"test split of {first.card['data']['source']} ({len(test)} photos never used in "
            "training, choosing members or calibrating)",
            **{k: report[k] for k in ("test", "test_known_species_only")},
        },
        "calibration": report["calibration"],
        "open_set": report["open_set"],
        "training": {
            "config": {**{key: config.get(key) for key in SPLIT_SETTINGS}, "max_known_flagged": max_known_flagged},
            "selection": {
                "method": "greedy forward selection with replacement on validation negative log-likelihood",
                "fitted_on": f"validation split ({len(val)} photos)",
                "candidates": candidates,
                "steps": [{"added": n, "val_nll": loss} for n, loss in selection.steps],
                "steps_kept": selection.kept,
                "max_members": max_members,
            },
        },
        "versions": software_versions(),
    }
    write_card(card, out or MODELS_DIR / f"{name}{ENSEMBLE_SUFFIX}")
    return card
