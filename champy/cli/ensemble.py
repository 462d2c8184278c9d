"""`champy fit-ensemble`: choose an ensemble's members and weights on their validation photos and write its card."""

from __future__ import annotations

import argparse
from pathlib import Path

from champy.paths import SHARED_DIR
from champy.training.config import ENSEMBLE_MAX_KNOWN_FLAGGED

DEFAULT_CANDIDATES = (
    "mobilenet_v2_species",
    "efficientnet_lite0_species",
    "efficientnet_lite1_species",
    "efficientnet_lite2_species",
)


def _fit(args: argparse.Namespace) -> int:
    from champy.errors import ChampyError
    from champy.training.ensemble_fit import fit_ensemble

    if not args.photos.is_dir():
        raise ChampyError(f"not a folder: {args.photos}")
    if args.steps < 1 or args.max_members < 1:
        raise ChampyError("--steps and --max-members must be at least 1")
    if not 0.0 <= args.max_known_flagged < 1.0:
        raise ChampyError("--max-known-flagged must be a share from 0 to below 1 (0.04: 4 %)")
    card = fit_ensemble(
        list(args.candidates), args.photos, args.name, args.steps, args.max_members, args.out, args.max_known_flagged
    )
    members = ", ".join(f"{m['model']} {m['weight']:.2f}" for m in card["members"])
    known, open_set = card["metrics"]["test_known_species_only"], card["open_set"]
    print(
        f"wrote {card['name']}: {members}; test (known species, {known['n']} photos) top-1 {known['top1']:.3f}, "
        f"top-5 {known['top5']:.3f}; test ECE {card['calibration']['test_ece_after']:.3f}; unseen species "
        f"flagged {open_set['test_unseen_species_flagged']:.3f} at {open_set['test_known_flagged']:.3f} known"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit-ensemble",
        help="fit an ensemble of shipped models on their validation photos",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--name", default="champy_ensemble", help="the ensemble's model name")
    parser.add_argument(
        "--candidates", nargs="+", default=DEFAULT_CANDIDATES, help="shipped single models to choose from"
    )
    parser.add_argument(
        "--photos",
        type=Path,
        default=SHARED_DIR / "data" / "photos",
        help="the labelled photos the candidates were trained on (validation chooses, test measures)",
    )
    parser.add_argument("--steps", type=int, default=10, help="selection steps (weights are multiples of 1/steps)")
    parser.add_argument("--max-members", type=int, default=3, help="at most this many different models")
    parser.add_argument(
        "--max-known-flagged",
        type=float,
        default=ENSEMBLE_MAX_KNOWN_FLAGGED,
        help="the share of known validation photos the unknown threshold may flag",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: models/<name>.ensemble.json")
    parser.set_defaults(func=_fit)
