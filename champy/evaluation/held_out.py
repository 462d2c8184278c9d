"""Held-out evaluation of a trained model: accuracy, calibration and the open-set threshold.

Everything here is measured on photos the model never trained on: the validation split fits the
temperature and the unknown threshold, and the test split reports the figures with them applied.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from champy.evaluation.metrics import classification_metrics
from champy.image_batch import load_images
from champy.scoring.calibration import apply_temperature, expected_calibration_error, fit_temperature
from champy.scoring.openset import open_set_section


def predict_rows(model: keras.Model, rows: pd.DataFrame, batch_size: int = 32) -> np.ndarray:
    """Softmax outputs of `model` for every image in `rows` (plain, no augmentation)."""
    size = int(model.input_shape[1])
    images = load_images(list(rows["path"]), size)
    if len(images) == 0:
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    return model.predict(images.astype(np.float32), batch_size=batch_size, verbose=0)


def held_out_report(
    val_probs: np.ndarray,
    val_labels: np.ndarray,
    test_probs: np.ndarray,
    test_labels: np.ndarray,
    names: list[str],
    other_index: int | None,
    max_known_flagged: float,
    members: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict:
    """Calibration, test metrics and open-set figures from validation and test predictions (`members`: an
    ensemble's member probabilities on validation and test, for its open-set scores)."""
    temperature = fit_temperature(val_probs, val_labels)
    val_cal = apply_temperature(val_probs, temperature)
    test_cal = apply_temperature(test_probs, temperature)
    known_test = test_labels != other_index
    known_names = [n for i, n in enumerate(names) if i != other_index]
    known_metrics = classification_metrics(
        np.delete(test_cal[known_test], other_index, axis=-1) if other_index is not None else test_cal,
        test_labels[known_test],
        known_names,
    )
    return {
        "test": classification_metrics(test_cal, test_labels, names),
        "test_known_species_only": {key: known_metrics[key] for key in ("n", "top1", "top3", "top5")},
        "calibration": {
            "temperature": temperature,
            "fitted_on": f"validation split ({len(val_labels)} photos)",
            "test_ece_before": expected_calibration_error(test_probs, test_labels),
            "test_ece_after": expected_calibration_error(test_cal, test_labels),
        },
        "open_set": open_set_section(
            val_cal, val_labels, test_cal, test_labels, other_index, max_known_flagged, members
        ),
    }
