"""Does the answer hold on photos from other cameras and photographers? Every shipped model, per photo source.

Every photo goes through `identify` (gate, open set, risk) and is counted per source
(`champy.evaluation.cross_source` says what each figure counts):
  same sources       the model's test split of ../shared/data/photos (never trained on), per collection
  new sources, test  the collections of ../shared/data/photos_new_sources that nothing is fitted on
                     (`champy.data.sources.NEW_SOURCES_FOR_TESTING`)
  new sources, fit   the other collections of that folder: figures for reference only, since the vouch thresholds
                     (and models trained with --extra-other) are fitted on them
  Commons, known     the Wikimedia Commons reference photos of species the model has a class for, each scored with
                     its species' photos by the same author left out of the look-alike bank
The leave-one-source-out figures (a model retrained without one collection) are in
`benchmarks/leave_one_source_out.py`.

    python benchmarks/cross_source.py [--models NAME ...] [--json benchmarks/results/cross_source.json] [--card]

With --card, each model card gets the figures (`cross_source`), shown on the Model cards page.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from champy.atomic import write_text
from champy.data.labelled import load_labelled
from champy.data.sources import NEW_SOURCES_FOR_TESTING, photo_sources
from champy.evaluation.cross_source import Answered, low_mistakes, source_figures
from champy.evaluation.photos import identify_held_out
from champy.inference import available_models, load_model
from champy.inference.ensemble import Model
from champy.inference.model import read_model_card, resolve_model_path
from champy.models.card import card_path, write_card
from champy.paths import SHARED_DIR
from champy.training.safety_fit import trainer_split

PHOTOS = SHARED_DIR / "data" / "photos"
NEW_SOURCES = SHARED_DIR / "data" / "photos_new_sources"
REFERENCES = SHARED_DIR / "data" / "reference_photos"
RESULTS = Path(__file__).with_name("results") / "cross_source.json"


def answer(model: Model, rows: pd.DataFrame, hold_out: pd.DataFrame | None = None) -> list[Answered]:
    """Identify each photo of `rows`; with `hold_out` (the reference table), each with its species' photos by the
    same author left out of the look-alike bank."""
    answered = []
    for (_, row), source in zip(rows.iterrows(), photo_sources(rows)):
        result = identify_held_out(model, row["path"], hold_out)
        top = result.species[0].name if result.species else ""
        answered.append(Answered(row["species"], source, top, result.verdict, result.risk.level))
    return answered


def evaluate(name: str) -> dict:
    model = load_model(name)
    classes = {label["name"] for label in model.labels if label["name"] != "other fungi"}
    test = trainer_split(model, PHOTOS).rows("test")
    new = load_labelled(NEW_SOURCES, "species")
    testing = photo_sources(new).isin(NEW_SOURCES_FOR_TESTING).to_numpy()
    refs = load_labelled(REFERENCES, "species")
    known_refs = refs[refs["species"].isin(classes)]
    groups = {
        "same sources (test split)": answer(model, test),
        "new sources, test": answer(model, new[testing]),
        "new sources, fit": answer(model, new[~testing]),
        "Commons, known species": answer(model, known_refs, refs),
    }
    return {
        "model": name,
        "figures": {group: source_figures(rows, classes) for group, rows in groups.items()},
        "low_mistakes_on_test_photos": {
            group: low_mistakes(rows) for group, rows in groups.items() if group != "new sources, fit"
        },
    }


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_report(report: dict) -> None:
    print(f"\n{report['model']}")
    header = f"  {'photos':<58} {'n':>4} {'known':>5} {'top-1':>6} {'low':>4} {'low wrong':>10} {'other low':>10}"
    print(header + f" {'other flagged':>13} {'toxic low':>9}")
    for group, by_source in report["figures"].items():
        for source, row in by_source.items():
            print(
                f"  {group + ': ' + source:<58.58} {row['photos']:>4} {row['known_species_photos']:>5} "
                f"{_cell(row['top1_known']):>6} {row['low']:>4} {_cell(row['low_wrong']):>10} "
                f"{_cell(row['other_species_low']):>10} {_cell(row['other_species_flagged']):>13} "
                f"{row['dangerous_low']:>9}"
            )


def card_section(report: dict) -> dict:
    """What a model card keeps: the figures over all sources of each group, and how they were measured."""
    return {
        "measured_by": "benchmarks/cross_source.py",
        "groups": {group: by_source["all"] for group, by_source in report["figures"].items()},
        "what_each_counts": {
            "top1_known": "photos of species with a class whose first candidate is right",
            "low_wrong": "answers at level low that name another species than the photo's",
            "other_species_low": "photos of species without a class answered at level low",
            "other_species_flagged": "photos of species without a class not answered with a species",
            "dangerous_low": "photos of deadly or poisonous species answered at level low (count)",
        },
    }


def write_card_section(report: dict) -> None:
    card = read_model_card(report["model"])
    write_card({**card, "cross_source": card_section(report)}, card_path(resolve_model_path(report["model"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=None, help="default: every shipped model")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the figures are written")
    parser.add_argument("--card", action="store_true", help="also record the figures in each model card")
    args = parser.parse_args()
    for folder in (PHOTOS, NEW_SOURCES, REFERENCES):
        if not folder.is_dir():
            raise SystemExit(f"needs {folder} (set CHAMPY_SHARED_DIR)")
    reports = [evaluate(name) for name in args.models or available_models()]
    for report in reports:
        print_report(report)
        if args.card:
            write_card_section(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.json, json.dumps(reports, indent=1) + "\n")


if __name__ == "__main__":
    main()
