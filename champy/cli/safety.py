"""`champy fit-safety`: fit a model's safety profile (known confusions, thresholds, look-alike bank)."""

from __future__ import annotations

import argparse
from pathlib import Path

from champy.paths import DATA_DIR, DEFAULT_MODEL, SHARED_DIR


def _fit(args: argparse.Namespace) -> int:
    from champy.errors import ChampyError
    from champy.inference import load_model
    from champy.safety.profile import profile_path, write_profile
    from champy.training.safety_fit import fit_profile

    for folder in (args.photos, args.references):
        if not folder.is_dir():
            raise ChampyError(f"not a folder: {folder}")
    model = load_model(args.model)
    new_sources = args.new_sources if args.new_sources and args.new_sources.is_dir() else None
    profile = fit_profile(model, args.photos, args.references, new_sources)
    out = args.out or profile_path(model.path)
    write_profile(profile, out)
    limits = profile.thresholds
    print(
        f"wrote {out}: {len(profile.validation)} validation answers, {len(profile.references)} look-alike "
        f"reference photos; alarms at deadly probability {limits.deadly_probability:.3f}, poisonous "
        f"{limits.poisonous_probability:.3f}, dangerous genus {limits.dangerous_genus_probability:.3f}, "
        f"look-alike similarity {limits.lookalike_similarity:.3f}; vouch margin {limits.vouch_margin:.3f} over a "
        f"bank of {len(profile.vouch.species) if profile.vouch else 0} photos"
        + ("" if new_sources else f" (no folder {args.new_sources}: margin chosen without photos of other sources)")
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit-safety",
        help="fit a model's safety profile on its validation photos",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped model name, or a .h5 / .ensemble.json path")
    parser.add_argument(
        "--photos",
        type=Path,
        default=SHARED_DIR / "data" / "photos",
        help="the labelled photos the model was trained on (its validation split is used)",
    )
    parser.add_argument(
        "--references",
        type=Path,
        default=DATA_DIR / "reference_photos",
        help="licensed reference photos (photos.csv with path and species)",
    )
    parser.add_argument(
        "--new-sources",
        type=Path,
        default=SHARED_DIR / "data" / "photos_new_sources",
        help="photos from other collections (only those outside the testing ones) for the vouch margin",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: models/<model>.safety.json")
    parser.set_defaults(func=_fit)
