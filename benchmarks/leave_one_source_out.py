"""Leave one source out: how well does a species learned from some collections read photos from another one?

Three classes of ../shared/data/photos come from several collections (Boletus edulis from all three, Amanita
muscaria from two; Cantharellus cibarius from two, but one of them gives only 2 photos, too few to learn or test).
For each collection S that holds photos of Boletus edulis or Amanita muscaria, a network is trained with S's photos
of those species removed (the other classes keep all their photos, so the class list does not change), then
scored on the removed photos: top-1 on photos from a collection the network never saw for that species. The
figure beside it is the same network's top-1 on the test-split photos of those species from the other collections
(same sources). Each recipe (`RECIPES`: the shipped one and the one that cannot lean on source cues) is trained
on the same folds, so the two can be compared side by side.

    nice -n 19 python benchmarks/leave_one_source_out.py [--backbone mobilenet_v2] [--runs runs/loso] [--json out]

Trainings resume from `--runs` (a killed run starts again where it stopped).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from champy.atomic import write_text
from champy.data.labelled import load_labelled
from champy.data.sources import NEW_SOURCES_FOR_TESTING, NEW_SOURCES_FOR_THRESHOLDS, photo_sources
from champy.inference import load_model
from champy.paths import SHARED_DIR
from champy.training.config import TrainConfig

PHOTOS = SHARED_DIR / "data" / "photos"
SHARED_CLASSES = ("Boletus edulis", "Amanita muscaria")
MIN_HELD_OUT = 10
"""A collection is left out for a class only when it holds at least this many photos of it."""
RECIPES = {
    "shipped": {},
    "source-robust": {
        "extra_other": (str(SHARED_DIR / "data" / "reference_photos"), str(SHARED_DIR / "data" / "photos_new_sources")),
        "held_out_sources": NEW_SOURCES_FOR_TESTING + NEW_SOURCES_FOR_THRESHOLDS,
        "degrade_views": True,
        "source_balance": True,
    },
}


def folds(table: pd.DataFrame) -> dict[str, pd.Series]:
    """For each collection to leave out: which rows are held out (its photos of the shared classes)."""
    sources = photo_sources(table)
    result = {}
    for source in sorted(sources.unique()):
        held = sources.eq(source) & table["species"].isin(SHARED_CLASSES)
        counts = table[held]["species"].value_counts()
        held &= table["species"].isin(counts[counts >= MIN_HELD_OUT].index)
        if held.any():
            result[source] = held
    return result


def write_fold(table: pd.DataFrame, folder: Path) -> Path:
    """A labelled folder (a photos.csv with absolute paths) holding `table`."""
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "photos.csv", table.drop(columns=["label", "id"]).to_csv(index=False))
    return folder


def top1(model_path: Path, rows: pd.DataFrame) -> dict:
    """Top-1 of the model on `rows`, per species and overall."""
    model = load_model(model_path)
    names = [label["name"] for label in model.labels]
    answers = [names[i] for i in model.predict_paths(list(rows["path"])).argmax(axis=1)]
    right = pd.Series([a == s for a, s in zip(answers, rows["species"])], index=rows.index)
    return {
        "photos": len(rows),
        "top1": round(float(right.mean()), 4) if len(rows) else None,
        "per_species": {
            species: {"photos": int(len(group)), "top1": round(float(right[group.index].mean()), 4)}
            for species, group in rows.groupby("species")
        },
    }


def run_fold(source: str, held: pd.Series, table: pd.DataFrame, recipe: str, backbone: str, runs: Path) -> dict:
    from champy.training.trainer import train

    name = f"{backbone}_{recipe}_without_{source.replace('/', '_')}"
    data = write_fold(table[~held], runs / name / "photos")
    out = runs / name / f"{name}.h5"
    config = TrainConfig(data=data, out=out, backbone=backbone, run_dir=runs / name / "run", **RECIPES[recipe])
    if not out.is_file():
        train(config)
    card = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    test = card_test_rows(card, data)
    return {
        "left_out": source,
        "recipe": recipe,
        "unseen_source": top1(out, table[held]),
        "same_sources_test_split": top1(out, test[test["species"].isin(SHARED_CLASSES)]),
    }


def card_test_rows(card: dict, data: Path) -> pd.DataFrame:
    """The fold network's own test split (as its trainer split the fold's folder)."""
    from champy.data.prepare import prepare

    config = card["training"]["config"]
    prepared = prepare(load_labelled(data), config["min_per_class"], config["other_class"], config["seed"])
    return prepared.rows("test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--sources", nargs="+", default=None, help="the collections to leave out (default: each)")
    parser.add_argument("--runs", type=Path, default=Path("runs/loso"))
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("results") / "leave_one_source_out.json")
    args = parser.parse_args()
    if not PHOTOS.is_dir():
        raise SystemExit(f"needs {PHOTOS} (set CHAMPY_SHARED_DIR)")
    table = load_labelled(PHOTOS)
    results = [
        run_fold(source, held, table, recipe, args.backbone, args.runs)
        for source, held in folds(table).items()
        if args.sources is None or source in args.sources
        for recipe in args.recipes
    ]
    for row in results:
        unseen, same = row["unseen_source"], row["same_sources_test_split"]
        print(
            f"{row['recipe']:<14} without {row['left_out']:<40.40} unseen source: top-1 {unseen['top1']:.3f} "
            f"({unseen['photos']} photos)   same sources: {same['top1']:.3f} ({same['photos']} photos)"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.json, json.dumps({"backbone": args.backbone, "folds": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
