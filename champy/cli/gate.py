"""`champy fit-gate`: fit the "is this a mushroom?" gate on mushroom photos and non-mushroom photos."""

from __future__ import annotations

import argparse
from pathlib import Path

from champy.data.labelled import load_labelled
from champy.errors import ChampyError
from champy.path_kind import folder_problem

GATE_BACKBONES = ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


def _negatives(folders: list[Path]):
    """The non-mushroom photos of every folder (with their categories and sources)."""
    import pandas as pd

    from champy.training.gate_fit import negative_photos

    for folder in folders:
        problem = folder_problem(folder)
        if problem:
            raise ChampyError(f"{folder}: {problem}")
    negatives = pd.concat([negative_photos(folder) for folder in folders], ignore_index=True)
    if len(negatives) < 6:
        raise ChampyError(
            f"need at least 6 non-mushroom images in {', '.join(map(str, folders))}, found {len(negatives)}"
        )
    return negatives


def _fit(args: argparse.Namespace) -> int:
    from champy.inference.gate import gate_file
    from champy.training.gate_fit import fit_gate, gate_positives

    photos = load_labelled(args.photos)
    positives = gate_positives(photos, args.min_per_class, not args.no_other_class, args.seed)
    rare = "dropped" if args.no_other_class else "pooled"
    fitted_on = (
        f"the training and validation splits of {args.photos.name} ({len(positives)} of {len(photos)} photos), split "
        f"as champy train splits it (seed {args.seed}, {args.min_per_class} photos per class, rare species {rare}): "
        "its test split never fitted the gate"
    )
    out = args.out or gate_file(args.backbone)
    report = fit_gate(positives, _negatives(args.negatives), out, args.backbone, args.l2, fitted_on=fitted_on)
    measured = report["measured"]
    print(
        f"wrote {out}: threshold {report['threshold']:.3f}; on held-out sources: "
        f"{measured['mushrooms_rejected']:.1%} of {measured['mushroom_photos']} mushroom photos rejected, "
        f"{measured['non_mushrooms_rejected']:.1%} of {measured['non_mushroom_photos']} non-mushrooms rejected"
    )
    for name, row in measured["per_category"].items():
        print(f"  {name}: {row['rejected']:.1%} of {row['photos']} rejected ({row['sources']} sources)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit-gate", help="fit the mushroom / not-a-mushroom gate")
    parser.add_argument("--photos", type=Path, required=True, help="labelled mushroom photo folder")
    parser.add_argument(
        "--negatives",
        type=Path,
        nargs="+",
        required=True,
        help="folder(s) of photos that are not fungi (a negatives.csv in one gives categories and sources)",
    )
    parser.add_argument("--l2", type=float, default=300.0, help="L2 penalty on the standardised features")
    split = "the mushroom photos are split as champy train splits them; only the training and validation splits fit"
    parser.add_argument("--min-per-class", type=int, default=15, help=f"as for champy train ({split})")
    parser.add_argument("--no-other-class", action="store_true", help="as for champy train")
    parser.add_argument("--seed", type=int, default=42, help="split seed, as for champy train")
    parser.add_argument(
        "--backbone",
        default="mobilenet_v2",
        choices=GATE_BACKBONES,
        help="whose pooled ImageNet features the gate reads (its weights must be in models/imagenet/)",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: models/mushroom_gate[_BACKBONE].json")
    parser.set_defaults(func=_fit)
