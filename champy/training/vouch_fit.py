"""Fit what a "low" level is vouched against (`champy.safety.vouch`): the bank of photos and the margin.

The bank: up to `CLASS_PHOTOS` training photos of each class, every "other fungi" training photo and every licensed
reference photo (embeddings, species and path). The margin is chosen on photos from sources other than the test's:
the model's validation photos, the collections of `../shared/data/photos_new_sources` kept for it
(`champy.data.sources.NEW_SOURCES_FOR_THRESHOLDS`, which no network trains on) and the reference photos, each with
its species' photos by the same author left out of the bank. Among those, every confident answer (more likely than
not, more than "other fungi", and for an ensemble agreed by its networks) naming the wrong species must fall below
the margin, unless no answer of that species can be "low" anyway (a deadly or poisonous species, or one of a genus
with deadly members a photo cannot tell apart).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from champy.data.labelled import load_labelled
from champy.data.prepare import PreparedData
from champy.data.sources import NEW_SOURCES_FOR_THRESHOLDS, photo_sources
from champy.edibility import lookup
from champy.evaluation.photos import embed_photos, shown_path, siblings
from champy.inference.ensemble import Model
from champy.safety.genera import dangerous_genera
from champy.safety.risk import LOW_CONFIDENCE, SAFE_STATUSES
from champy.safety.vouch import VouchBank, evidence, members_disagree

CLASS_PHOTOS = 40
"""Training photos kept per class in the bank (chosen by a hash of their path): enough for the nearest three."""
MARGIN_RANGE = (0.0, 0.5)


def _sample(rows: pd.DataFrame, limit: int) -> pd.DataFrame:
    order = rows["path"].map(lambda p: hashlib.sha256(Path(p).name.encode()).hexdigest())
    return rows.assign(order=order).sort_values("order").head(limit).drop(columns="order")


def fit_bank(model: Model, split: PreparedData, references: pd.DataFrame) -> VouchBank:
    """The bank from the model's training split and the reference photos."""
    train = split.rows("train")
    own = [_sample(rows, CLASS_PHOTOS) for index, rows in train.groupby("label_index") if index != split.other_index]
    others = train[train["label_index"] == split.other_index] if split.other_index is not None else train.iloc[:0]
    rows = pd.concat([*own, others, references], ignore_index=True)
    embedded = embed_photos(model, list(rows["path"]))
    return VouchBank(embedded.embeddings, tuple(rows["species"]), tuple(shown_path(p) for p in rows["path"]))


def fit_photos(validation: pd.DataFrame, new_sources: Path | None, references: pd.DataFrame) -> pd.DataFrame:
    """The photos the margin is chosen on (path, species, and `held` for reference photos: the author's)."""
    parts = [validation[["path", "species"]], references[["path", "species"]].assign(held=True)]
    if new_sources is not None:
        table = load_labelled(new_sources, "species")
        fitting = table[photo_sources(table).isin(NEW_SOURCES_FOR_THRESHOLDS).to_numpy()]
        parts.append(fitting[["path", "species"]])
    return pd.concat(parts, ignore_index=True).fillna({"held": False})


def may_be_low(species: str) -> bool:
    """Whether an answer of `species` can be "low" at all (rated safe, outside the genera with deadly members)."""
    return lookup(species).status in SAFE_STATUSES and species.split()[0] not in dangerous_genera()


@dataclass
class MarginFit:
    """The chosen margin and what it was chosen on."""

    margin: float
    wrong: int
    """Confident wrong answers among the fitting photos (each below the margin)."""
    right_kept: int
    right: int
    """Confident right answers among the fitting photos, and how many of them clear the margin."""


def low_candidate(model: Model, probs: np.ndarray, member_probs: np.ndarray | None) -> tuple[str, bool]:
    """The known species a photo's calibrated `probs` answer, and whether a "low" level could name it at all: more
    likely than not and than "other fungi", agreed by the networks (`member_probs`, one row per member; None for a
    single network), and a species that may be "low"."""
    names = [label["name"] for label in model.labels]
    known = [i for i in range(len(names)) if i != model.other_index]
    top = known[int(np.argmax(probs[known]))]
    other = probs[model.other_index] if model.other_index is not None else 0.0
    agreed = member_probs is None or members_disagree(member_probs, names, model.other_index) is None
    possible = probs[top] >= LOW_CONFIDENCE and probs[top] > other and agreed and may_be_low(names[top])
    return names[top], bool(possible)


def choose_margin(model: Model, bank: VouchBank, photos: pd.DataFrame, references: pd.DataFrame) -> MarginFit:
    """The smallest margin that no confident wrong answer among `photos` reaches (of species that may be "low")."""
    classes = {label["name"] for i, label in enumerate(model.labels) if i != model.other_index}
    embedded = embed_photos(model, list(photos["path"]))
    _, members = model.predict_with_members(list(photos["path"]))
    wrong, right = [], []
    for row, (probs, embedding) in enumerate(zip(embedded.probs, embedded.embeddings)):
        answer, possible = low_candidate(model, probs, None if members is None else members[:, row])
        if not possible:
            continue
        path, species = photos["path"].iloc[row], photos["species"].iloc[row]
        held = siblings(references, path, "author") if photos["held"].iloc[row] else []
        found = evidence(embedding, answer, bank.without({shown_path(p) for p in held}), classes)
        if found is not None:
            (right if answer == species else wrong).append(found.margin)
    margin = float(np.clip(max(wrong, default=0.0) + 0.005, *MARGIN_RANGE))
    return MarginFit(round(margin, 4), len(wrong), sum(m >= margin for m in right), len(right))
