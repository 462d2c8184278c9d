"""Warm single-photo latency of `identify` (+ Grad-CAM) against one bare compiled forward pass.

For every shipped model, side by side in one run on the same real photos:
  bare     one compiled forward pass of the Keras graph on pixels already in memory (single networks)
  core     the fused pass `run`: species + gate + Grad-CAM, pixels in memory (an ensemble: all its members)
  photo    `identify(path)`: decode the file, resize, fused pass, decode, edibility, risk, overlay
Prints medians in ms and the ratios core/bare and photo/bare, then each ensemble's `identify` against each of its
members' (budget: 4x). Usage: python benchmarks/predict.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import tensorflow as tf

from champy.images import load_image
from champy.inference import ChampyModel, available_models, identify, load_model
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


def measure(model, files: list[str], runs: int) -> tuple[float | None, float, float]:
    """Median ms of the bare forward pass (None for an ensemble), the fused pass and the whole `identify`."""
    pixels = model.pixels([load_image(files[0], draft_size=2 * model.size)])
    bare = None
    if isinstance(model, ChampyModel):
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
    photo_ms = {}
    for name in available_models():
        bare, core, photo = measure(load_model(name), files, args.runs)
        photo_ms[name] = photo
        ratios = f"{core / bare:10.2f} {photo / bare:11.2f}" if bare else f"{'-':>10} {'-':>11}"
        shown = f"{bare:8.1f}" if bare else f"{'-':>8}"
        print(f"{name:<28} {shown} {core:8.1f} {photo:9.1f} {ratios}")
    for name in available_models():
        model = load_model(name)
        for member in getattr(model, "members", []):
            ratio = photo_ms[name] / photo_ms[member.name]
            print(f"{name} identify / {member.name} identify: {ratio:.2f}x (budget 4x)")


if __name__ == "__main__":
    main()
