"""Open-set scores side by side on a shipped model's own split, and (with --write-card) the best one into its card.

Scores from the calibrated probabilities (see `champy.scoring.openset`): top known probability, that minus the
pooled "other fungi" probability, one minus the "other fungi" probability (outlier exposure); and, for comparison,
scores from the logits and the pooled features: max logit, energy (log-sum-exp of the known logits), cosine to the
nearest known-class mean and mean cosine to the k nearest training photos. Every threshold flags at most 5 % of the
known validation photos; the figures are the unseen validation species flagged (choosing) and the test split's known
and unseen photos flagged (reporting). Also the test ECE with the card's temperature.

Usage: python benchmarks/open_set_scores.py [MODEL ...] [--write-card]
"""

from __future__ import annotations

import argparse

import keras
import numpy as np

from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.image_batch import load_images
from champy.inference import available_models, read_model_card
from champy.inference.keras_model import load_tensorflow_model
from champy.models.card import card_path, write_card
from champy.paths import SHARED_DIR
from champy.scoring.calibration import apply_temperature, expected_calibration_error
from champy.scoring.openset import choose_threshold, flagged_share, open_set_section


def _features_and_probs(model, rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled features (the last dense layer's input), its logits and the softmax outputs for every photo."""
    keras_model = model.keras_model
    dense = next(layer for layer in reversed(keras_model.layers) if layer.weights)
    network = keras.Model(keras_model.input, [dense.input, keras_model.output])
    pooled, probs = network.predict(load_images(list(rows["path"]), model.size).astype(np.float32), verbose=0)
    kernel, bias = dense.get_weights()
    return pooled, pooled @ kernel + bias, probs


def _feature_scores(model, table, val, test) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(validation, test) scores from logits and pooled features."""
    other = model.other_index
    train = table[(table["split"] == "train") & (table["label_index"] != other)]
    train_pooled, _, _ = _features_and_probs(model, train)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    train_pooled = unit(train_pooled)
    labels = train["label_index"].to_numpy()
    means = unit(np.stack([train_pooled[labels == c].mean(axis=0) for c in np.unique(labels)]))
    known = [i for i in range(len(model.labels)) if i != other]
    scores = {}
    for split, (pooled, logits) in (("val", val), ("test", test)):
        pooled = unit(pooled)
        similarity = np.sort(pooled @ train_pooled.T, axis=1)
        known_logits = logits[:, known]
        top = known_logits.max(axis=1, keepdims=True)
        for name, value in (
            ("max_logit", known_logits.max(axis=1)),
            ("energy", (top + np.log(np.exp(known_logits - top).sum(axis=1, keepdims=True)))[:, 0]),
            ("class_mean_cosine", (pooled @ means.T).max(axis=1)),
            ("knn1_cosine", similarity[:, -1]),
            ("knn5_cosine", similarity[:, -5:].mean(axis=1)),
        ):
            scores.setdefault(name, {})[split] = value
    return scores


def run(name: str, write: bool) -> None:
    model = load_tensorflow_model(name)
    config = model.card["training"]["config"]
    table = prepare(
        load_labelled(SHARED_DIR / "data" / "photos"), config["min_per_class"], config["other_class"], config["seed"]
    ).table
    max_flagged = float(config.get("max_known_flagged", 0.05))
    splits = {split: table[table["split"] == split] for split in ("val", "test")}
    outputs = {split: _features_and_probs(model, rows) for split, rows in splits.items()}
    labels = {split: rows["label_index"].to_numpy() for split, rows in splits.items()}
    calibrated = {split: apply_temperature(outputs[split][2], model.temperature) for split in splits}
    section = open_set_section(
        calibrated["val"], labels["val"], calibrated["test"], labels["test"], model.other_index, max_flagged
    )
    print(
        f"{name}: {len(labels['val'])} validation, {len(labels['test'])} test photos; "
        f"test ECE {expected_calibration_error(calibrated['test'], labels['test']):.4f} (T={model.temperature:.3f})"
    )
    print("  score                  val unseen flagged | test known flagged | test unseen flagged")
    for score, row in section["compared"].items():
        print(
            f"  {score:22s} {row['val_unseen_species_flagged']:.3f}              | {row['test_known_flagged']:.3f}"
            f"              | {row['test_unseen_species_flagged']:.3f}"
        )
    known = {split: labels[split] != model.other_index for split in splits}
    feature_scores = _feature_scores(model, table, outputs["val"][:2], outputs["test"][:2])
    for score, values in feature_scores.items():
        threshold = choose_threshold(values["val"][known["val"]], max_flagged)
        print(
            f"  {score:22s} {flagged_share(values['val'][~known['val']], threshold):.3f}              | "
            f"{flagged_share(values['test'][known['test']], threshold):.3f}              | "
            f"{flagged_share(values['test'][~known['test']], threshold):.3f}"
        )
    print(f"  chosen on validation: {section['score']}")
    if write:
        model.card["open_set"] = section
        write_card(model.card, card_path(model.path))
        print(f"  wrote the open-set section of {card_path(model.path)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="shipped single-network models (default: all of them)")
    parser.add_argument(
        "--write-card", action="store_true", help="store the chosen score and its threshold in the card"
    )
    args = parser.parse_args()
    singles = [name for name in available_models() if "members" not in read_model_card(name)]
    for name in args.models or singles:  # an ensemble's scores are compared by champy fit-ensemble
        run(name, args.write_card)


if __name__ == "__main__":
    main()
