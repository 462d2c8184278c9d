"""Warm upload-to-result time of the Identify page, measured in real headless Chromium.

Starts `streamlit run app.py` on 127.0.0.1, uploads one photo to load the default model (not timed),
then, on the same page, replaces it by each of `--photos` other photos in turn and times from handing
the file to the uploader until the Grad-CAM overlay is on screen (the verdict, bars and badges are
drawn before it). Every timed photo is new to the server, so no cached result is reused.

    python benchmarks/app_latency.py [--photos 8] [--json results.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from champy.app_server import CHROMIUM, CHROMIUM_ARGS, run_browser_benchmark, open_identify_page, serving_app, upload_and_wait
from champy.paths import SHARED_DIR

PHOTOS_DIR = SHARED_DIR / "data" / "photos"
GOAL_SECONDS = 1.5


def benchmark_photos(count: int) -> list[Path]:
    """`count` + 1 photos of different species (the first one warms the model up)."""
    folders = sorted(folder for folder in PHOTOS_DIR.iterdir() if folder.is_dir())
    photos = [min(folder.glob("*.jpg")) for folder in folders if any(folder.glob("*.jpg"))]
    if len(photos) < count + 1:
        raise SystemExit(f"need {count + 1} photos in {PHOTOS_DIR}, found {len(photos)}")
    step = len(photos) // (count + 1)
    return photos[::step][: count + 1]


def measure(count: int) -> dict[str, object]:
    """Warm-up time and the warm upload-to-result times (seconds) of `count` photos."""
    warmup, *timed = benchmark_photos(count)
    with tempfile.TemporaryDirectory() as cache:
        offline = {"CHAMPY_GBIF_API": "http://127.0.0.1:9", "CHAMPY_GBIF_CACHE": cache}
        with serving_app(offline) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_identify_page(page, url)
            cold = upload_and_wait(page, [warmup])
            warm = [upload_and_wait(page, [photo]) for photo in timed]
            browser.close()
    return {
        "cold_first_upload_s": round(cold, 3),
        "warm_s": [round(seconds, 3) for seconds in warm],
        "warm_median_s": round(statistics.median(warm), 3),
        "warm_max_s": round(max(warm), 3),
        "goal_s": GOAL_SECONDS,
        "photos": [str(photo.relative_to(PHOTOS_DIR)) for photo in timed],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8, help="how many warm uploads to time")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures = run_browser_benchmark(lambda: measure(args.photos), args.json)
    if figures is None:
        return 2
    verdict = "meets" if figures["warm_median_s"] < GOAL_SECONDS else "misses"
    print(f"warm upload -> result: median {figures['warm_median_s']} s ({verdict} the {GOAL_SECONDS} s goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
