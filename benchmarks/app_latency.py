"""Warm upload to the answer card and to a fully drawn Identify page, against a bare Streamlit page, side by side in
headless Chromium.

Starts `streamlit run app.py` and the floor (`benchmarks/floor_app.py`: a bare page that shows the uploaded
photo and one plotly chart) on 127.0.0.1, one Chromium page on each. The first upload on each is the cold
one: it is made `--think-s` seconds after the Identify page opened (the time a user takes to pick a photo,
during which the app warms its model up). Then each of `--photos` other photos goes to both pages in turn
(alternating which goes first), timed from handing the file to the uploader until the answer card is shown, and
until the page is fully drawn (settled): the script finished, every image loaded, every chart and map drawn. Both are
checked in the browser on every animation frame, on both pages. The
floor's time is its page fully drawn. Every timed photo is new to the server. Prints the figures and two ratios of
the medians: the answer card against the floor (goal: at most 1.3) and the settled page against the floor (goal: at
most 2). With `--model`, that model is chosen in the page's advanced model chooser before the think time (the
default model otherwise).

    python benchmarks/app_latency.py [--photos 8] [--think-s 5] [--model NAME] [--json results.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the browser harness

from app_server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    open_identify_page,
    run_browser_benchmark,
    serving_app,
    upload_and_time,
)
from playwright.sync_api import expect, sync_playwright

from champy.inference import DEFAULT_MODEL, available_models, read_model_card
from champy.paths import SHARED_DIR
from champy_app.wording import model_label

PHOTOS_DIR = SHARED_DIR / "data" / "photos"
FLOOR_APP = Path(__file__).resolve().parent / "floor_app.py"
FLOOR_MARKER = "Your photo"
CARD_GOAL = 1.3
SETTLED_GOAL = 2.0


def benchmark_photos(count: int) -> list[Path]:
    """`count` + 1 photos of different species (the first one is the cold upload)."""
    folders = sorted(folder for folder in PHOTOS_DIR.iterdir() if folder.is_dir())
    photos = [min(folder.glob("*.jpg")) for folder in folders if any(folder.glob("*.jpg"))]
    if len(photos) < count + 1:
        raise SystemExit(f"need {count + 1} photos in {PHOTOS_DIR}, found {len(photos)}")
    step = len(photos) // (count + 1)
    return photos[::step][: count + 1]


def choose_model(page: Any, name: str) -> None:
    """Pick model `name` in the Identify page's model chooser, folded in its advanced section."""
    page.get_by_test_id("stExpander").filter(has_text="Advanced").locator("summary").click()
    chooser = page.get_by_test_id("stSelectbox").filter(has_text="Model")
    expect(chooser).to_be_visible()
    page.wait_for_timeout(500)  # the expander's opening animation: a click during it does not open the list
    chooser.click()
    label = model_label(name, read_model_card(name).get("backbone", ""))
    page.get_by_role("option").filter(has_text=label).first.click()  # each label is in no other
    expect(chooser.locator("input")).to_have_value(label)


def measure(count: int, think_s: float, model: str | None) -> dict[str, object]:
    """Cold and warm upload-to-answer-card and upload-to-drawn times (seconds) of the Identify page (with `model`
    chosen, if given), and upload-to-drawn times of the floor page."""
    cold_photo, *timed = benchmark_photos(count)
    with tempfile.TemporaryDirectory() as cache:
        offline = {"CHAMPY_GBIF_API": "http://127.0.0.1:9", "CHAMPY_GBIF_CACHE": cache}
        with (
            serving_app(offline) as champy_url,
            serving_app(script=FLOOR_APP) as floor_url,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            viewport = {"width": 1400, "height": 900}
            champy, floor = browser.new_page(viewport=viewport), browser.new_page(viewport=viewport)
            open_identify_page(champy, champy_url)
            if model:
                choose_model(champy, model)
            time.sleep(think_s)
            cold = upload_and_time(champy, [cold_photo])[1]
            open_identify_page(floor, floor_url)
            upload_and_time(floor, [cold_photo], marker=FLOOR_MARKER)
            card_s, settled_s, floor_s = [], [], []
            for turn, photo in enumerate(timed):
                runs = [(champy, None), (floor, FLOOR_MARKER)]
                for page, marker in runs if turn % 2 == 0 else reversed(runs):
                    shown, drawn = upload_and_time(page, [photo], marker=marker)
                    if marker:
                        floor_s.append(drawn)
                    else:
                        card_s.append(shown)
                        settled_s.append(drawn)
            browser.close()
    card, settled, floor_median = (statistics.median(times) for times in (card_s, settled_s, floor_s))
    return {
        "model": model or DEFAULT_MODEL,
        "cold_first_upload_s": round(cold, 3),
        "think_s": think_s,
        "card_warm_s": [round(seconds, 3) for seconds in card_s],
        "settled_warm_s": [round(seconds, 3) for seconds in settled_s],
        "floor_warm_s": [round(seconds, 3) for seconds in floor_s],
        "card_median_s": round(card, 3),
        "settled_median_s": round(settled, 3),
        "floor_median_s": round(floor_median, 3),
        "card_ratio": round(card / floor_median, 2),
        "settled_ratio": round(settled / floor_median, 2),
        "goals": {"card_ratio": CARD_GOAL, "settled_ratio": SETTLED_GOAL},
        "photos": [str(photo.relative_to(PHOTOS_DIR)) for photo in timed],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8, help="how many warm uploads to time on each page")
    parser.add_argument(
        "--think-s", type=float, default=5.0, help="seconds between opening the Identify page and the cold first upload"
    )
    parser.add_argument("--model", choices=available_models(), help=f"the model to choose (default: {DEFAULT_MODEL})")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.photos < 1 or args.think_s < 0:
        parser.error("--photos must be at least 1 and --think-s at least 0")
    figures = run_browser_benchmark(lambda: measure(args.photos, args.think_s, args.model), args.json)
    if figures is None:
        return 2
    for what, ratio, goal in (
        ("answer card", figures["card_ratio"], CARD_GOAL),
        ("settled page", figures["settled_ratio"], SETTLED_GOAL),
    ):
        verdict = "meets" if ratio <= goal else "misses"
        print(f"warm upload -> {what} ({figures['model']}): {ratio} x the floor ({verdict} the {goal} goal)")
    print(
        f"medians: card {figures['card_median_s']} s, settled {figures['settled_median_s']} s, "
        f"floor {figures['floor_median_s']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
