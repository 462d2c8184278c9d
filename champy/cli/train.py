"""`champy train` and `champy evaluate`: make a model from a labelled photo folder, and measure one."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from champy.models.registry import list_backbones
from champy.training.config import TrainConfig


def _train(args: argparse.Namespace) -> int:
    from champy.training.trainer import train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = TrainConfig(
        data=args.data,
        out=args.out,
        backbone=args.backbone,
        rank=args.rank,
        weights=None if args.weights == "none" else args.weights,
        input_size=args.input_size,
        min_per_class=args.min_per_class,
        other_class=not args.no_other_class,
        head_epochs=args.head_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=args.batch_size,
        views=args.views,
        finetune_after=args.finetune_after,
        class_weights=args.class_weights,
        label_smoothing=args.label_smoothing,
        weight_decay=args.weight_decay,
        mode=args.mode,
        seed=args.seed,
        run_dir=args.run_dir,
        extra_other=tuple(args.extra_other),
        held_out_sources=tuple(args.held_out_source),
        degrade_views=args.degrade_views,
        source_balance=args.source_balance,
    )
    card = train(config)
    metrics = card["metrics"]["test"]
    out = Path(card["training"]["config"]["out"])  # a worker other than the chief writes into its own folder
    print(f"saved {out} and {out.with_suffix('.json')}")
    print(
        f"held-out test: top-1 {metrics['top1']:.3f}  top-3 {metrics['top3']:.3f}  top-5 {metrics['top5']:.3f}  "
        f"(n={metrics['n']})"
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from champy.evaluation.evaluate_model import evaluate_model

    report = evaluate_model(args.model, args.data, split=args.split)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        scored = "every photo" if report["split"] == "all" else f"the {report['split']} split"
        print(
            f"{report['model']} on {scored} of {report['data']} ({report['split_source']}): "
            f"{report['n']} photos of known species, {report['unseen_species_photos']} of unseen species"
        )
        flagged = report["unseen_species_flagged"]
        print(
            f"top-1 {report['top1']:.3f}  top-3 {report['top3']:.3f}  top-5 {report['top5']:.3f}"
            + ("" if flagged is None else f"  unseen species answered 'unknown': {flagged:.2f}")
        )
        for row in report["per_class"]:
            precision = "-" if row["precision"] is None else f"{row['precision']:.2f}"
            recall = "-" if row["recall"] is None else f"{row['recall']:.2f}"
            print(f"  {row['name']:<32} precision {precision:>5}  recall {recall:>5}  n={row['support']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser("train", help="train a model on a labelled photo folder")
    train.add_argument(
        "--data", type=Path, required=True, help="dataset folder (manifest.csv/photos.csv or class sub-folders)"
    )
    train.add_argument("--backbone", default="mobilenet_v2", choices=list_backbones(), help="pretrained network")
    train.add_argument("--rank", default="species", choices=("species", "genus"), help="what each class is")
    train.add_argument("--out", type=Path, required=True, help="output model file, e.g. models/NAME.h5")
    train.add_argument("--weights", default="imagenet", help="'imagenet', a weights file path, or 'none' (random init)")
    train.add_argument("--input-size", type=int, default=None, help="square input size (default: the backbone's)")
    train.add_argument("--min-per-class", type=int, default=15, help="classes with fewer images are pooled or dropped")
    train.add_argument("--no-other-class", action="store_true", help="drop rare classes instead of pooling them")
    train.add_argument("--head-epochs", type=int, default=20, help="epochs training the new head, backbone frozen")
    train.add_argument("--finetune-epochs", type=int, default=20, help="epochs fine-tuning the top of the backbone")
    train.add_argument("--batch-size", type=int, default=32, help="photos per training step")
    train.add_argument(
        "--class-weights",
        default="sqrt",
        choices=("balanced", "sqrt", "none"),
        help="loss weights for imbalanced classes",
    )
    train.add_argument(
        "--label-smoothing", type=float, default=0.1, help="share of each target spread over the other classes"
    )
    train.add_argument("--weight-decay", type=float, default=0.05, help="decoupled weight decay (AdamW); 0 keeps Adam")
    train.add_argument(
        "--finetune-after",
        default=None,
        metavar="LAYER",
        help="last layer kept frozen when fine-tuning (default: the backbone's)",
    )
    train.add_argument("--views", type=int, default=6, help="cached views per image on the CPU fast path")
    train.add_argument(
        "--mode",
        default="auto",
        choices=("auto", "cached", "full"),
        help="full: image pipeline (GPUs, workers); cached: CPU fast path; auto: by machine",
    )
    train.add_argument("--seed", type=int, default=42, help="split and initialisation seed")
    train.add_argument("--run-dir", type=Path, default=None, help="checkpoints, caches and history (default runs/NAME)")
    train.add_argument(
        "--extra-other",
        nargs="+",
        default=[],
        metavar="DIR",
        help="labelled folders whose species outside the classes (not deadly or poisonous) join 'other fungi' in "
        "training only",
    )
    train.add_argument(
        "--held-out-source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="a source (owner/repository) of --extra-other never trained on; repeat for several",
    )
    train.add_argument(
        "--degrade-views",
        action="store_true",
        help="augmented views also vary resolution (64-256 px), JPEG quality and blur (CPU fast path)",
    )
    train.add_argument(
        "--source-balance", action="store_true", help="within a class, weight photos by 1/sqrt(photos of their source)"
    )
    train.set_defaults(func=_train)

    evaluate = subparsers.add_parser("evaluate", help="measure a model on a labelled photo folder")
    evaluate.add_argument("--model", required=True, help="model name in models/ or a path to an .h5 file")
    evaluate.add_argument("--data", type=Path, required=True, help="labelled photo folder (as for train)")
    evaluate.add_argument(
        "--split",
        default="test",
        choices=("test", "val", "train", "all"),
        help="photos scored: a held-out split (recorded with the photos, else split as the trainer "
        "did), or all of them, training photos included",
    )
    evaluate.add_argument("--json", action="store_true", help="print the full report as JSON")
    evaluate.set_defaults(func=_evaluate)
