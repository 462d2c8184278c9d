"""Warm single-photo latency of `identify` (+ Grad-CAM) against one bare forward pass, in TensorFlow and compiled.

For every shipped model, side by side in one run on the same real photos:
  bare     one forward pass of the Keras graph in a `tf.function`, pixels already in memory (single networks)
  core     the fused pass `run`: species + gate + Grad-CAM, pixels in memory (an ensemble: all its members)
  photo    `identify(path)`: decode the file, resize, fused pass, decode, edibility, risk, overlay
each with the forward pass in TensorFlow ("tf") and compiled for the CPU ("compiled", `KerasModel.compile`;
Grad-CAM in TensorFlow). `benchmarks/litert.py` measures the LiteRT path without TensorFlow.
Prints medians in ms, the ratios core/bare and photo/bare, the compiled speed-up of `identify`, then each ensemble's
`identify` against each of its members' (budget: 4x). Usage: python benchmarks/predict.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import tensorflow as tf

from champy.images import load_image
from champy.inference import available_models, identify
from champy.inference.keras_model import KerasModel, load_tensorflow_model
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
    if isinstance(model, KerasModel):
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
    print(
        f"{'model':<28} {'pass':<9} {'bare ms':>8} {'core ms':>8} {'photo ms':>9} {'core/bare':>10} {'photo/bare':>11}"
    )
    photo_ms: dict[tuple[str, bool], float] = {}
    for name in available_models():
        model = load_tensorflow_model(name)
        for compiled in (False, True):
            if model.compile(enabled=compiled) != compiled:
                raise SystemExit(f"{name} could not be compiled for the CPU")
            bare, core, photo = measure(model, files, args.runs)
            photo_ms[name, compiled] = photo
            ratios = f"{core / bare:10.2f} {photo / bare:11.2f}" if bare else f"{'-':>10} {'-':>11}"
            shown = f"{bare:8.1f}" if bare else f"{'-':>8}"
            label = "compiled" if compiled else "tf"
            print(f"{name:<28} {label:<9} {shown} {core:8.1f} {photo:9.1f} {ratios}")
        print(f"{name} identify, tf / compiled: {photo_ms[name, False] / photo_ms[name, True]:.2f}x")
    for name in available_models():
        for member in getattr(load_tensorflow_model(name), "members", []):
            for compiled in (False, True):
                ratio = photo_ms[name, compiled] / photo_ms[member.name, compiled]
                label = "compiled" if compiled else "tf"
                print(f"{name} identify / {member.name} identify ({label}): {ratio:.2f}x (budget 4x)")


if __name__ == "__main__":
    main()
