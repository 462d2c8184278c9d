"""Fine-tuning against the linear probe, over several random splits of the same photos.

One split (232 test photos, 3-4 of them for 10 of the 14 species) cannot tell a few points apart.
This benchmark repeats the comparison on `--seeds` different stratified splits: for each seed it
trains a recipe (the shipped one by default) with `champy train` (CPU fast path) and fits a plain logistic regression
on frozen ImageNet MobileNetV2 features of the same train photos, then prints both on the same
test photos (known species, closed set: the 14 species only) with the mean, the spread and the
paired difference. Trained runs are kept in `--runs`, so an interrupted benchmark resumes.

Usage: python benchmarks/finetune_vs_probe.py [--seeds 42 1 2 3 4 5] [--label-smoothing 0.1] [--weight-decay 0.05] [...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from baseline_logreg import imagenet_features, probe_accuracy

from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.models.card import card_path
from champy.paths import SHARED_DIR
from champy.training.config import TrainConfig
from champy.training.trainer import train


def fine_tuned(config: TrainConfig) -> dict:
    """Closed-set test figures of one trained run (trained now, or read back from its card)."""
    card_file = card_path(config.out)
    card = json.loads(card_file.read_text()) if card_file.exists() else train(config)
    known = card["metrics"]["test_known_species_only"]
    return {
        "top1": known["top1"],
        "top5": known["top5"],
        "unseen_flagged": card["open_set"]["test_unseen_species_flagged"],
    }


def probe(features: dict[str, np.ndarray], rows, other_index: int) -> dict:
    """Closed-set test figures of a logistic regression on frozen features, fitted on the train rows."""
    known = rows[rows["label_index"] != other_index]
    x = np.stack([features[p] for p in known["path"]])
    y = known["label_index"].to_numpy()
    test_rows = (known["split"] == "test").to_numpy()
    top1, top5 = probe_accuracy(x, y, (known["split"] == "train").to_numpy(), test_rows, other_index)
    return {"top1": top1, "top5": top5, "n": int(test_rows.sum())}


def summary(values: list[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1) if len(values) > 1 else 0.0:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=str(SHARED_DIR / "data" / "photos"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4, 5])
    parser.add_argument("--runs", type=Path, default=Path("runs/finetune_vs_probe"))
    parser.add_argument(
        "--backbone", default="mobilenet_v2", help="the fine-tuned network (the probe stays on MobileNetV2)"
    )
    parser.add_argument("--class-weights", default="sqrt")
    parser.add_argument("--views", type=int, default=6)
    parser.add_argument("--head-epochs", type=int, default=20)
    parser.add_argument("--finetune-epochs", type=int, default=20)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--finetune-after", default=None, help="last frozen layer (default: the registry's)")
    args = parser.parse_args()

    table = load_labelled(args.photos)
    rows_by_seed = {seed: prepare(table, min_per_class=15, other_class=True, seed=seed) for seed in args.seeds}
    known_paths = sorted(
        {
            p
            for data in rows_by_seed.values()
            for p in data.table.loc[data.table["label_index"] != data.other_index, "path"]
        }
    )
    features = dict(zip(known_paths, imagenet_features(known_paths)))

    results = []
    for seed, data in rows_by_seed.items():
        recipe = (
            ("" if args.backbone == "mobilenet_v2" else f"{args.backbone}_")
            + f"{args.class_weights}_{args.views}v_{args.head_epochs}+{args.finetune_epochs}"
            + (f"_after_{args.finetune_after}" if args.finetune_after else "")
        )
        recipe += (f"_ls{args.label_smoothing}" if args.label_smoothing else "") + (
            f"_wd{args.weight_decay}" if args.weight_decay else ""
        )
        config = TrainConfig(
            data=Path(args.photos),
            out=args.runs / recipe / f"seed{seed}.h5",
            backbone=args.backbone,
            seed=seed,
            mode="cached",
            class_weights=args.class_weights,
            views=args.views,
            head_epochs=args.head_epochs,
            finetune_epochs=args.finetune_epochs,
            finetune_after=args.finetune_after,
            label_smoothing=args.label_smoothing,
            weight_decay=args.weight_decay,
            run_dir=args.runs / recipe / f"seed{seed}_run",
        )
        results.append((seed, probe(features, data.table, data.other_index), fine_tuned(config)))

    print(
        f"{'seed':>4} {'test':>5} {'probe top-1':>12} {'tuned top-1':>12} {'probe top-5':>12} {'tuned top-5':>12} "
        f"{'unseen flagged':>15}"
    )
    for seed, p, t in results:
        print(
            f"{seed:>4} {p['n']:>5} {p['top1']:>12.3f} {t['top1']:>12.3f} {p['top5']:>12.3f} {t['top5']:>12.3f} "
            f"{t['unseen_flagged']:>15.3f}"
        )
    probe_top1 = [p["top1"] for _, p, _ in results]
    tuned_top1 = [t["top1"] for _, _, t in results]
    print(f"probe top-1       {summary(probe_top1)}")
    print(f"fine-tuned top-1  {summary(tuned_top1)}")
    print(
        f"difference top-1  {summary(list(np.subtract(tuned_top1, probe_top1)))}  (fine-tuned ahead on "
        f"{sum(t > p for p, t in zip(probe_top1, tuned_top1))}/{len(results)} splits)"
    )
    print(f"probe top-5       {summary([p['top5'] for _, p, _ in results])}")
    print(f"fine-tuned top-5  {summary([t['top5'] for _, _, t in results])}")


if __name__ == "__main__":
    main()
