"""Warm single-photo latency of `identify` (+ Grad-CAM) against one bare compiled forward pass.

For every shipped model, side by side in one run on the same real photos:
  bare     one compiled forward pass of the Keras graph on pixels already in memory
  core     the fused pass `ChampyModel.run`: species + gate + Grad-CAM, pixels in memory
  photo    `identify(path)`: decode the file, resize, fused pass, decode, edibility, overlay
Prints medians in ms and the ratios core/bare and photo/bare. Usage: python benchmarks/predict.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import tensorflow as tf

from champy.images import load_model_input
from champy.inference import available_models, identify, load_model
from champy.paths import PROJECT_ROOT, SHARED_DIR


def median_ms(call, runs: int) -> float:
    call()  # warm-up (tracing, caches)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def photos() -> list[str]:
    shared = SHARED_DIR / "data" / "photos" / "Amanita_muscaria"
    folder = shared if shared.is_dir() else PROJECT_ROOT / "data" / "sample_photos" / "Boletus_edulis"
    return [str(p) for p in sorted(folder.glob("*.jpg"))[:5]]


def measure(model, files: list[str], runs: int) -> tuple[float, float, float]:
    """Median ms of the bare forward pass, the fused pass and the whole `identify` for one model."""
    pixels = np.stack([load_model_input(files[0], model.size)])
    bare_fn = tf.function(lambda x: model.keras_model(x, training=False))
    tensor = tf.constant(pixels)
    bare = median_ms(lambda: bare_fn(tensor).numpy(), runs)
    core = median_ms(lambda: model.run(pixels), runs)
    cycle = iter(files * (runs + 1))
    photo = median_ms(lambda: identify(next(cycle), model), runs)
    return bare, core, photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    files = photos()
    print(f"{'model':<28} {'bare ms':>8} {'core ms':>8} {'photo ms':>9} {'core/bare':>10} {'photo/bare':>11}")
    for name in available_models():
        bare, core, photo = measure(load_model(name), files, args.runs)
        print(f"{name:<28} {bare:8.1f} {core:8.1f} {photo:9.1f} {core / bare:10.2f} {photo / bare:11.2f}")


if __name__ == "__main__":
    main()
