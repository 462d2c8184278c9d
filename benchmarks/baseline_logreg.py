"""The bar to beat: logistic regression on frozen ImageNet MobileNetV2 features, on the same split.

Measures, side by side on the test split the shipped models were evaluated on (known species only):
a logistic regression fitted on the train split, one fitted on train + validation, and each shipped
model. Usage: python benchmarks/baseline_logreg.py [--photos ../shared/data/photos]
"""

from __future__ import annotations

import argparse

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression

from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.evaluation.evaluate_model import evaluate_model
from champy.evaluation.metrics import top_k_accuracy
from champy.image_batch import load_images
from champy.inference import available_models
from champy.paths import IMAGENET_WEIGHTS_DIR, SHARED_DIR


def imagenet_features(paths: list[str]) -> np.ndarray:
    model = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg", input_shape=(224, 224, 3))
    model.load_weights(str(IMAGENET_WEIGHTS_DIR / "mobilenet_v2_1.0_224_imagenet_notop.weights.h5"))
    return model.predict(load_images(paths, 224).astype(np.float32) / 127.5 - 1.0, batch_size=32, verbose=0)


def probe_accuracy(
    features: np.ndarray, labels: np.ndarray, fit_rows: np.ndarray, test_rows: np.ndarray, num_classes: int
) -> tuple[float, float]:
    """Top-1 and top-5 of a plain logistic regression fitted on `fit_rows`, scored on `test_rows`."""
    classifier = LogisticRegression(max_iter=3000).fit(features[fit_rows], labels[fit_rows])
    probs = np.zeros((test_rows.sum(), num_classes))
    probs[:, classifier.classes_] = classifier.predict_proba(features[test_rows])
    return top_k_accuracy(probs, labels[test_rows], 1), top_k_accuracy(probs, labels[test_rows], 5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default=str(SHARED_DIR / "data" / "photos"))
    args = parser.parse_args()
    data = prepare(load_labelled(args.photos), min_per_class=15, other_class=True, seed=42)
    known = data.table[data.table["label_index"] != data.other_index]
    features = imagenet_features(list(known["path"]))
    labels = known["label_index"].to_numpy()
    split = known["split"].to_numpy()
    test = split == "test"
    print(f"test split: {test.sum()} photos of {len(np.unique(labels))} known species")
    print(f"{'method':<48} {'top-1':>6} {'top-5':>6}")
    for name, fit_rows in (
        ("logistic regression, frozen features (train)", split == "train"),
        ("logistic regression, frozen features (train+val)", split != "test"),
    ):
        top1, top5 = probe_accuracy(features, labels, fit_rows, test, len(data.labels))
        print(f"{name:<48} {top1:6.3f} {top5:6.3f}")
    for model in available_models():
        report = evaluate_model(model, args.photos, split="test")
        print(f"{model + ' (fine-tuned, augmented)':<48} {report['top1']:6.3f} {report['top5']:6.3f}")


if __name__ == "__main__":
    main()
