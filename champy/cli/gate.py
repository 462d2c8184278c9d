"""`champy fit-gate`: fit the "is this a mushroom?" gate on mushroom photos and non-mushroom photos."""

from __future__ import annotations

import argparse
from pathlib import Path

from champy.data.labelled import IMAGE_SUFFIXES, load_labelled
from champy.errors import ChampyError
from champy.path_kind import folder_problem


def _fit(args: argparse.Namespace) -> int:
    from champy.inference.gate_fit import fit_gate

    positives = list(load_labelled(args.photos)["path"])
    problem = folder_problem(args.negatives)
    if problem:
        raise ChampyError(f"{args.negatives}: {problem}")
    negatives = sorted(str(p) for p in args.negatives.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(negatives) < 6:
        raise ChampyError(f"need at least 6 non-mushroom images in {args.negatives}, found {len(negatives)}")
    from champy.inference.gate import gate_file

    report = fit_gate(positives, negatives, args.out or gate_file(args.backbone), args.backbone)
    measured = report["measured"]
    print(f"wrote {args.out or gate_file(args.backbone)}: threshold {report['threshold']:.3f}; cross-validated: "
          f"{measured['mushrooms_rejected']:.1%} of {measured['mushroom_photos']} mushroom photos rejected, "
          f"{measured['non_mushrooms_rejected']:.1%} of {measured['non_mushroom_photos']} non-mushrooms rejected")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("fit-gate", help="fit the mushroom / not-a-mushroom gate")
    parser.add_argument("--photos", type=Path, required=True, help="labelled mushroom photo folder")
    parser.add_argument("--negatives", type=Path, required=True, help="folder of photos that are not fungi")
    parser.add_argument("--backbone", default="mobilenet_v2", choices=("mobilenet_v2", "efficientnet_lite0"),
                        help="whose ImageNet classifier the gate reads (its weights must be in models/imagenet/)")
    parser.add_argument("--out", type=Path, default=None, help="default: models/mushroom_gate[_BACKBONE].json")
    parser.set_defaults(func=_fit)
