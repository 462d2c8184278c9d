"""The default ensemble over several random splits of the same photos, not only the shipped one.

The shipped `champy_ensemble` was fitted and measured on one split (seed 42: 232 test photos of the 14 known
species, 3-4 of them for 10 species), where one photo is 0.4 points of top-1. This benchmark refits the whole
ensemble on `--seeds` stratified splits, as `benchmarks/finetune_vs_probe.py` does for single models. For each seed:

1. its members are trained with the shipped models' own recipes (the training settings in their cards, only the
   split seed changed) by `champy.training.trainer.train` in "cached" mode; on the shipped split (the ensemble card's
   seed) the shipped models themselves are used;
2. each member's calibrated probabilities (its own temperature) are computed on the split's validation and test
   photos, decoded as `identify` decodes them;
3. members and weights are chosen by greedy forward selection on validation log-loss (`select_members`, with the
   shipped fit's steps and member limit), and the ensemble's temperature is fitted on validation;
4. the ensemble is scored on the test photos, as in its card: top-1 and top-5 among the known species (closed set,
   the card's `test_known_species_only`), macro top-1 (mean recall over the known species, an "other fungi" answer
   counted wrong, as in the README), expected calibration error after its temperature and without it (all test
   photos), and the share of unseen-species test photos answered "unknown" and of known-species ones (the open-set
   rule chosen on validation at the card's share of known photos, and at each of `BUDGETS`); with each member's
   closed-set top-1 alone.

With `--card`, each figure's spread over the splits is recorded in the shipped ensemble's card (the app's Model cards
page shows it). The seed-42 row reproduces the shipped card (top-1 0.935, top-5 1.000, macro top-1 0.768). Trained
runs are kept in `--runs` (`<backbone>/seed<k>.h5` with its card), so an interrupted benchmark resumes where it
stopped.

Usage: nice -n 19 python benchmarks/ensemble_splits.py [--seeds 42 1 2 3 4 5] [--runs runs/ensemble_splits]
[--json results.json] [--card]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from finetune_vs_probe import summary

from champy.data.labelled import load_labelled
from champy.errors import ChampyError
from champy.evaluation.held_out import held_out_report
from champy.inference.ensemble import fuse
from champy.inference.loader import load_model
from champy.inference.model import ChampyModel, read_model_card, resolve_model_path
from champy.models.card import card_path, write_card
from champy.paths import DEFAULT_MODEL, SHARED_DIR
from champy.scoring.calibration import apply_temperature
from champy.scoring.openset import open_set_section
from champy.training.config import TrainConfig
from champy.training.ensemble_fit import select_members
from champy.training.safety_fit import trainer_split, validation_rows
from champy.training.trainer import train

ADDED_LATER = {"label_smoothing": 0.0, "weight_decay": 0.0}
"""Training settings added after some shipped models were trained: a card without them was trained without them."""
PER_RUN = ("data", "out", "seed", "mode", "run_dir")
"""Training settings each run sets itself rather than taking from the shipped model's card."""
SPLITS = ("val", "test")
FIGURES = ("top1", "top5", "macro_top1", "ece", "unseen_flagged", "known_flagged")
"""The ensemble's figures whose spread over the splits `--card` records."""
BUDGETS = (0.03, 0.035, 0.04, 0.045, 0.05)
"""Shares of known validation photos the open-set threshold may flag, each reported (the card's is one of them)."""
T = TypeVar("T")


@dataclasses.dataclass
class Fit:
    """What the shipped ensemble's card says about its fit: members, selection settings and split seed."""

    members: list[str]
    steps: int
    max_members: int
    seed: int
    max_known_flagged: float


def shipped_fit(ensemble: str) -> Fit:
    """The members, selection steps, member limit, split seed and open-set budget of the shipped ensemble."""
    card = read_model_card(ensemble)
    selection, config = card["training"]["selection"], card["training"]["config"]
    return Fit(
        [member["model"] for member in card["members"]],
        len(selection["steps"]),
        int(selection["max_members"]),
        int(config["seed"]),
        float(config.get("max_known_flagged", 0.05)),
    )


def member_config(name: str, seed: int, photos: Path, runs: Path) -> TrainConfig:
    """The shipped model `name`'s training recipe on split `seed`, written to `runs/<backbone>/seed<k>.h5`."""
    config = read_model_card(name)["training"]["config"]
    known = {field.name for field in dataclasses.fields(TrainConfig)}
    recipe = {**ADDED_LATER, **{k: v for k, v in config.items() if k in known and k not in PER_RUN}}
    folder = runs / recipe["backbone"]
    return TrainConfig(
        data=photos,
        out=folder / f"seed{seed}.h5",
        seed=seed,
        mode="cached",
        run_dir=folder / f"seed{seed}_run",
        **recipe,
    )


def isolated(function: Callable[..., T], *args) -> T:
    """`function(*args)` run in a fresh process, so that TensorFlow gives its memory back (a training's cached
    views, the loaded models) before the next training or split."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def train_run(config: TrainConfig) -> None:
    """Train one member, writing its network and card (the card stays on disk: it holds Keras objects that cannot
    cross from one process to another)."""
    train(config)


def train_members(seed: int, fit: Fit, photos: Path, runs: Path) -> dict[str, float]:
    """Train the members on split `seed` unless their runs are kept; the seconds each training took now."""
    seconds = {}
    for name in [] if seed == fit.seed else fit.members:
        config = member_config(name, seed, photos, runs)
        if card_path(config.out).is_file():  # the trainer writes the card last: a card means a finished run
            continue
        start = time.monotonic()
        isolated(train_run, config)
        seconds[name] = time.monotonic() - start
        print(f"trained {name} on split {seed} in {seconds[name] / 60:.1f} min", flush=True)
    return seconds


def member_model(name: str, seed: int, fit: Fit, photos: Path, runs: Path) -> ChampyModel:
    """The member `name` trained on split `seed`: the shipped model on the shipped split, else the run in `runs`."""
    return load_model(name if seed == fit.seed else member_config(name, seed, photos, runs).out)


def split_rows(models: list[ChampyModel], photos: Path) -> dict[str, pd.DataFrame]:
    """The split's validation and test photos; stops when a member's card does not split the photos the same way."""
    val = [validation_rows(model, photos) for model in models]  # each member's own leakage guard
    if any(list(rows["path"]) != list(val[0]["path"]) for rows in val[1:]):
        raise ChampyError("the members were not trained on the same split")
    return {"val": val[0], "test": trainer_split(models[0], photos).rows("test")}


def calibrated(model: ChampyModel, rows: pd.DataFrame) -> np.ndarray:
    """The model's probabilities for the photos of `rows`, calibrated by its own temperature."""
    return apply_temperature(model.predict_paths(list(rows["path"])), model.temperature)


def figures(
    probs: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    model: ChampyModel,
    max_known_flagged: float,
    members: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Test figures of validation and test probabilities, computed as the model cards compute them."""
    names = [label["name"] for label in model.labels]
    report = held_out_report(
        probs["val"], labels["val"], probs["test"], labels["test"], names, model.other_index, max_known_flagged, members
    )
    known = report["test_known_species_only"]
    val_cal, test_cal = (apply_temperature(probs[split], report["calibration"]["temperature"]) for split in SPLITS)
    budgets = {
        budget: open_set_section(val_cal, labels["val"], test_cal, labels["test"], model.other_index, budget, members)
        for budget in BUDGETS
    }
    recalls = [
        c["recall"] for i, c in enumerate(report["test"]["per_class"]) if i != model.other_index and c["support"]
    ]
    return {
        "n": known["n"],
        "top1": known["top1"],
        "top5": known["top5"],
        "macro_top1": float(np.mean(recalls)),
        "ece": report["calibration"]["test_ece_after"],
        "ece_before": report["calibration"]["test_ece_before"],
        "temperature": report["calibration"]["temperature"],
        "unseen_flagged": report["open_set"]["test_unseen_species_flagged"],
        "unseen_n": report["open_set"]["test_unseen_species_photos"],
        "known_flagged": report["open_set"]["test_known_flagged"],
        "open_set_score": report["open_set"]["score"],
        "open_set_by_budget": {
            str(budget): {key: section[key] for key in ("score", "test_known_flagged", "test_unseen_species_flagged")}
            for budget, section in budgets.items()
        },
    }


def evaluate_seed(seed: int, fit: Fit, photos: Path, runs: Path) -> dict:
    """Fit the ensemble of the members trained on split `seed` on its validation photos and score it on test."""
    models = {name: member_model(name, seed, fit, photos, runs) for name in fit.members}
    rows = split_rows(list(models.values()), photos)
    labels = {split: rows[split]["label_index"].to_numpy() for split in SPLITS}
    probs = {name: {split: calibrated(model, rows[split]) for split in SPLITS} for name, model in models.items()}
    selection = select_members({n: p["val"] for n, p in probs.items()}, labels["val"], fit.steps, fit.max_members)
    chosen = list(selection.weights)
    weights = [selection.weights[n] for n in chosen]
    fused = {split: fuse([probs[n][split] for n in chosen], weights) for split in SPLITS}
    stacked = tuple(np.stack([probs[n][split] for n in chosen]) for split in SPLITS)
    first = models[fit.members[0]]
    return {
        "seed": seed,
        **figures(fused, labels, first, fit.max_known_flagged, stacked),
        "weights": selection.weights,
        "members_top1": {n: figures(probs[n], labels, first, fit.max_known_flagged)["top1"] for n in fit.members},
    }


def split_result(seed: int, fit: Fit, photos: Path, runs: Path) -> dict:
    """One split's row: its members trained (or reused), then the ensemble fitted and scored, each in its own
    process."""
    seconds = train_members(seed, fit, photos, runs)
    return {**isolated(evaluate_seed, seed, fit, photos, runs), "training_seconds": seconds}


def short(name: str) -> str:
    """A member's column name: its model name without the backbone family and the rank."""
    return name.removesuffix("_species").removeprefix("efficientnet_")


def best_member_top1(results: list[dict]) -> list[float]:
    """Each split's best member's top-1 alone."""
    return [max(r["members_top1"].values()) for r in results]


def print_table(results: list[dict], members: list[str]) -> None:
    """One row per seed, then the mean ± standard deviation over the seeds."""
    columns = ["ens top-1", "ens top-5", "macro top-1", "ECE", "unseen", "known fl."]
    heads = [f"{short(n)} top-1" for n in members] + columns
    widths = [max(len(h), 9) for h in heads]
    print(f"{'seed':>4} {'test':>5} " + " ".join(f"{h:>{w}}" for h, w in zip(heads, widths)) + "  weights")
    for r in results:
        values = [r["members_top1"][n] for n in members] + [r[k] for k in ("top1", "top5", "macro_top1", "ece")]
        weights = ", ".join(f"{short(n)} {w:.3f}" for n, w in r["weights"].items())
        print(
            f"{r['seed']:>4} {r['n']:>5} "
            + " ".join(f"{v:>{w}.3f}" for v, w in zip([*values, r["unseen_flagged"], r["known_flagged"]], widths))
            + f"  {weights}; {r['unseen_n']} unseen, {r['open_set_score']}"
        )
    for n in members:
        print(f"{short(n) + ' top-1':<22} {summary([r['members_top1'][n] for r in results])}")
    scores = ("top1", "top-1"), ("top5", "top-5"), ("macro_top1", "macro top-1"), ("ece", "ECE")
    for key, label in (*scores, ("ece_before", "ECE, no temperature")):
        print(f"{'ensemble ' + label:<22} {summary([r[key] for r in results])}")
    print(f"{'unseen flagged':<22} {summary([r['unseen_flagged'] for r in results])}")
    print(f"{'known flagged':<22} {summary([r['known_flagged'] for r in results])}")
    for budget in BUDGETS:
        sections = [r["open_set_by_budget"][str(budget)] for r in results]
        print(
            f"open set at {budget:.1%} of known validation photos: test known flagged "
            f"{summary([s['test_known_flagged'] for s in sections])}, unseen flagged "
            f"{summary([s['test_unseen_species_flagged'] for s in sections])}"
        )
    best = best_member_top1(results)
    ahead = sum(r["top1"] > b for r, b in zip(results, best))
    print(
        f"ensemble - best member top-1 {summary(list(np.subtract([r['top1'] for r in results], best)))} "
        f"(ahead on {ahead}/{len(results)} splits)"
    )


def spread(values: list[float]) -> dict[str, float]:
    """Mean, standard deviation, lowest and highest of one figure over the splits."""
    deviation = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return {"mean": float(np.mean(values)), "sd": deviation, "min": float(min(values)), "max": float(max(values))}


def over_splits_section(results: list[dict], fit: Fit) -> dict:
    """What the ensemble's card records of this benchmark (`--card`; shown on the app's model card page)."""
    best = best_member_top1(results)
    return {
        "measured_by": "benchmarks/ensemble_splits.py",
        "method": "on each split the members are retrained with their shipped recipes, then members, weights, "
        "temperature and unknown threshold are refitted on its validation photos and scored on its test photos",
        "seeds": [r["seed"] for r in results],
        "test_known_photos": sorted({r["n"] for r in results}),
        "test_unseen_photos": sorted({r["unseen_n"] for r in results}),
        "max_known_flagged": fit.max_known_flagged,
        "figures": {key: spread([r[key] for r in results]) for key in FIGURES},
        "best_member_top1": spread(best),
        "ahead_of_best_member": int(sum(r["top1"] > b for r, b in zip(results, best))),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=SHARED_DIR / "data" / "photos")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4, 5])
    parser.add_argument("--runs", type=Path, default=Path("runs/ensemble_splits"))
    parser.add_argument("--ensemble", default=DEFAULT_MODEL, help="the shipped ensemble whose fit is repeated")
    parser.add_argument("--json", type=Path, default=None, help="also write the per-seed figures here")
    parser.add_argument(
        "--card", action="store_true", help="also record the figures' spread in the shipped ensemble's card"
    )
    args = parser.parse_args()

    try:
        load_labelled(args.photos)  # before any training
    except ChampyError as exc:
        print(
            f"ensemble_splits: no labelled photos ({exc}): the shared ../shared/data/photos, or --photos DIR",
            file=sys.stderr,
        )
        return 2
    try:
        fit = shipped_fit(args.ensemble)
        results = []
        for seed in args.seeds:
            results.append(split_result(seed, fit, args.photos, args.runs))
            print(
                f"split {seed}: ensemble top-1 {results[-1]['top1']:.3f}, weights {results[-1]['weights']}", flush=True
            )
    except ChampyError as exc:
        print(f"ensemble_splits: {exc}", file=sys.stderr)
        return 2
    print_table(results, fit.members)
    if args.json:
        args.json.write_text(json.dumps({"fit": dataclasses.asdict(fit), "results": results}, indent=2) + "\n")
    if args.card:
        path = resolve_model_path(args.ensemble)
        card = read_model_card(args.ensemble)
        write_card({**card, "evaluation_over_splits": over_splits_section(results, fit)}, card_path(path))
        print(f"recorded in {card_path(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
