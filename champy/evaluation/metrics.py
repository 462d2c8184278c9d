"""Held-out metrics for a classifier: top-k accuracy, per-class precision/recall, confusion matrix."""

from __future__ import annotations

import numpy as np


def top_k_accuracy(probs: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share of rows whose true label is among the k most probable outputs."""
    if len(labels) == 0:
        return float("nan")
    top = np.argsort(-probs, axis=-1)[:, :k]
    return float(np.mean([label in row for label, row in zip(labels, top)]))


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts with true labels in rows and predictions in columns."""
    matrix = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class_report(matrix: np.ndarray, names: list[str]) -> list[dict]:
    """Precision, recall and support for every class, from a confusion matrix."""
    report = []
    for i, name in enumerate(names):
        predicted = matrix[:, i].sum()
        support = matrix[i].sum()
        report.append(
            {
                "name": name,
                "precision": float(matrix[i, i] / predicted) if predicted else None,
                "recall": float(matrix[i, i] / support) if support else None,
                "support": int(support),
            }
        )
    return report


def classification_metrics(probs: np.ndarray, labels: np.ndarray, names: list[str]) -> dict:
    """Top-1/3/5, per-class figures and the confusion matrix of `probs` against `labels`."""
    matrix = confusion_matrix(probs.argmax(axis=-1), labels, len(names))
    return {
        "n": int(len(labels)),
        "top1": top_k_accuracy(probs, labels, 1),
        "top3": top_k_accuracy(probs, labels, 3),
        "top5": top_k_accuracy(probs, labels, 5),
        "per_class": per_class_report(matrix, names),
        "confusion_matrix": matrix.tolist(),
    }
