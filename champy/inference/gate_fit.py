"""Fitting the mushroom gate: L2-regularised, class-balanced logistic regression (Newton's method).

The threshold is chosen from cross-validated scores: the highest one that rejects at most
`max_mushrooms_rejected` of the real mushroom photos. The file written records the figures measured
that way, so the app can say how often the gate is wrong.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from champy.atomic import write_json
from champy.inference.gate import DEFAULT_GATE_BACKBONE, EPS, GATE_INPUT_SIZE, GateParams, imagenet_probabilities
from champy.image_batch import load_images


def _features(probs: np.ndarray) -> np.ndarray:
    return np.log(np.clip(probs, EPS, 1.0))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 25) -> tuple[np.ndarray, float]:
    """Class-balanced logistic regression minimising sum(w_i * loss_i) + l2/2 * |coef|^2."""
    n, d = x.shape
    sample_weight = np.where(y == 1, n / (2 * y.sum()), n / (2 * (n - y.sum())))
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the intercept is not regularised
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (sample_weight * (p - y)) + penalty * beta
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def cross_validated_scores(x: np.ndarray, y: np.ndarray, l2: float, folds: int = 6, seed: int = 0) -> np.ndarray:
    """Out-of-fold gate probabilities, folds stratified by class."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), int)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % folds
    scores = np.empty(len(y))
    for k in range(folds):
        coef, intercept = fit_logistic(x[fold != k], y[fold != k], l2)
        scores[fold == k] = GateParams(coef, intercept, 0.5).probability(np.exp(x[fold == k]))
    return scores


def fit_gate(positive_paths: list[str], negative_paths: list[str], out: Path, backbone: str = DEFAULT_GATE_BACKBONE,
             l2: float = 100.0, max_mushrooms_rejected: float = 0.02) -> dict:
    """Fit the gate on mushroom and non-mushroom photos, measure it by cross-validation, write `out`."""
    pos = imagenet_probabilities(load_images(positive_paths, GATE_INPUT_SIZE), backbone)
    neg = imagenet_probabilities(load_images(negative_paths, GATE_INPUT_SIZE), backbone)
    x = _features(np.vstack([pos, neg]))
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    scores = cross_validated_scores(x, y, l2)
    pos_scores = np.sort(scores[y == 1])
    threshold = float(pos_scores[int(np.floor(max_mushrooms_rejected * len(pos_scores)))])
    coef, intercept = fit_logistic(x, y, l2)
    report = {
        "model": f"logistic regression on log ImageNet probabilities of the shipped ImageNet {backbone}",
        "backbone": backbone,
        "coef": [float(c) for c in coef],
        "intercept": intercept,
        "threshold": threshold,
        "l2": l2,
        "measured": {
            "method": "6-fold stratified cross-validation (out-of-fold scores)",
            "mushroom_photos": int(len(pos)),
            "non_mushroom_photos": int(len(neg)),
            "mushrooms_rejected": float(np.mean(scores[y == 1] < threshold)),
            "non_mushrooms_rejected": float(np.mean(scores[y == 0] < threshold)),
        },
    }
    write_json(out, report)
    return report
