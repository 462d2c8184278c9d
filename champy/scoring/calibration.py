"""Temperature scaling: one scalar fitted on held-out data that makes probabilities honest.

The models end in a softmax, so a temperature T rescales log-probabilities: p_T ∝ p^(1/T).
T > 1 softens over-confident predictions. Expected calibration error (ECE) measures the gap
between confidence and accuracy before and after.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale softmax probabilities by `temperature` (rows still sum to 1)."""
    logits = np.log(np.clip(probs, EPS, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=-1, keepdims=True)


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], EPS, 1.0))))


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises held-out NLL (log-spaced search, then refined)."""
    grid = np.exp(np.linspace(np.log(0.05), np.log(20.0), 200))
    losses = [negative_log_likelihood(apply_temperature(probs, t), labels) for t in grid]
    best = int(np.argmin(losses))
    fine = np.linspace(grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)], 50)
    losses = [negative_log_likelihood(apply_temperature(probs, t), labels) for t in fine]
    return float(fine[int(np.argmin(losses))])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins: sum over bins of |accuracy - confidence| x share."""
    confidence = probs.max(axis=-1)
    correct = probs.argmax(axis=-1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)
