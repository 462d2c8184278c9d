"""The LiteRT path (no TensorFlow) against the TensorFlow path, side by side in one run, for the default ensemble.

Both paths read the same compiled forward passes from the cache (compiled first if missing); the TensorFlow path
(`CHAMPY_RUNTIME=tensorflow`, what `identify` ran before issue 28) imports TensorFlow, loads the Keras graphs and
draws Grad-CAM in TensorFlow. Measured, alternating the paths run by run:
  cli       wall time of `python -m champy predict PHOTO` (a fresh process: imports, model load, one answer)
  warm      median time of `identify(photo)` once loaded and warmed up, in one process per path
  app       `streamlit run app.py`, a photo uploaded through headless Chromium as soon as the page opens: seconds
            from the upload to the answer card shown (the Grad-CAM overlay comes in the same run), and the server's
            resident memory (VmRSS) afterwards
Prints the medians per path and writes them as JSON with `--json`.

    python benchmarks/litert.py [--runs 3] [--warm-runs 20] [--skip-app] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the browser harness

from app_server import CHROMIUM, CHROMIUM_ARGS, memory_mb, open_identify_page, serving_app, streamlit_children
from app_server import upload_and_wait as upload

from champy.inference import DEFAULT_MODEL, load_model
from champy.inference.loader import RUNTIME_ENV
from champy.paths import DATA_DIR

PHOTO = DATA_DIR / "sample_photos" / "Boletus_edulis" / "mto_mo1725981.jpg"
PATHS = {"litert": {}, "tensorflow": {RUNTIME_ENV: "tensorflow"}}
WARM = """
import statistics, sys, time
from champy.inference import identify, load_model
model = load_model({model!r})
identify({photo!r}, model)
times = []
for _ in range({runs}):
    start = time.perf_counter()
    identify({photo!r}, model)
    times.append(time.perf_counter() - start)
print(statistics.median(times) * 1000)
print(sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
"""


def cli_seconds(env: dict[str, str]) -> float:
    """Wall time of one `champy predict` of the photo with the default ensemble."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "champy", "predict", str(PHOTO)], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def warm_ms(env: dict[str, str], runs: int) -> tuple[float, str]:
    """Median ms of a warm `identify`, and which of TensorFlow and Keras the process imported."""
    script = WARM.format(model=DEFAULT_MODEL, photo=str(PHOTO), runs=runs)
    done = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True)
    median, imported = done.stdout.strip().splitlines()[-2:]
    return float(median), imported


def app_figures(env: dict[str, str]) -> tuple[float, float]:
    """Seconds from a photo's upload right after a cold start to its overlay, and the server's MB afterwards."""
    from playwright.sync_api import sync_playwright

    with serving_app(env) as url, sync_playwright() as playwright:
        (server,) = streamlit_children(os.getpid())
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        open_identify_page(page, url)
        seconds = upload(page, [PHOTO], timeout_s=300)
        time.sleep(2.0)  # let the script run finish
        megabytes = memory_mb(server)
        browser.close()
    return seconds, megabytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per path (CLI and app)")
    parser.add_argument("--warm-runs", type=int, default=20)
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    load_model(DEFAULT_MODEL)  # compiles whatever the cache lacks, so neither path pays for it
    figures: dict[str, dict[str, list[float] | float | str]] = {path: {} for path in PATHS}
    for _ in range(args.runs):
        for path, extra in PATHS.items():
            env = {**os.environ, **extra}
            figures[path].setdefault("cli_s", []).append(round(cli_seconds(env), 2))
            if not args.skip_app and CHROMIUM.is_file():
                seconds, megabytes = app_figures(env)
                figures[path].setdefault("app_first_identification_s", []).append(round(seconds, 2))
                figures[path].setdefault("app_server_mb", []).append(round(megabytes))
    for path, extra in PATHS.items():
        median, imported = warm_ms({**os.environ, **extra}, args.warm_runs)
        figures[path]["warm_identify_ms"] = round(median, 1)
        figures[path]["imported"] = imported
    print(f"{'figure':<28} {'litert':>12} {'tensorflow':>12}")
    for key in figures["litert"]:
        values = [figures[path][key] for path in PATHS]
        shown = [f"{statistics.median(v):.2f}" if isinstance(v, list) else str(v) for v in values]
        print(f"{key:<28} {shown[0]:>12} {shown[1]:>12}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
