"""Bounded load test of the real Streamlit app on 127.0.0.1: concurrent sessions uploading photos.

Starts `streamlit run app.py`, then `--sessions` headless Chromium pages at once each upload a
different real photo per round for `--rounds` rounds (every upload is new to the server, so the
model runs every time) and wait for the answer card. Reports errors, p50/p95 latency and the
server's peak resident memory, sampled every 0.2 s. Everything stops after `--budget` seconds.

    python benchmarks/load.py [--sessions 20] [--rounds 3] [--budget 900] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the browser harness

from app_server import (
    ANSWER_CARD,
    CHROMIUM,
    CHROMIUM_ARGS,
    memory_mb,
    run_browser_benchmark,
    serving_app,
    streamlit_children,
)
from playwright.async_api import async_playwright

from champy.paths import SHARED_DIR

PHOTOS_DIR = SHARED_DIR / "data" / "photos"


def load_photos(count: int) -> list[Path]:
    """`count` different real photos, spread over the species folders."""
    photos = sorted(PHOTOS_DIR.glob("*/*.jpg"))
    if len(photos) < count:
        raise SystemExit(f"need {count} photos in {PHOTOS_DIR}, found {len(photos)}")
    step = len(photos) // count
    return photos[::step][:count]


class PeakMemory(threading.Thread):
    """Samples the resident memory of the Streamlit server this process started, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.start_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.2):
            current = sum(memory_mb(pid) for pid in streamlit_children(os.getpid()))
            self.start_mb = self.start_mb or current
            self.peak_mb = max(self.peak_mb, current)

    def stop(self) -> None:
        self._done.set()
        self.join()


async def _session(
    browser, url: str, photos: list[Path], timeout_s: float, latencies: list[float], errors: list[str]
) -> None:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await context.new_page()
    try:
        for photo in photos:
            try:
                await page.goto(url, timeout=timeout_s * 1000)
                uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
                await uploader.wait_for(state="attached", timeout=timeout_s * 1000)
                start = time.perf_counter()
                await uploader.set_input_files(str(photo))
                await page.get_by_test_id(ANSWER_CARD).wait_for(timeout=timeout_s * 1000)
                latencies.append(time.perf_counter() - start)
                if await page.get_by_test_id("stException").count():
                    errors.append(f"{photo.name}: exception shown in the page")
            except Exception as exc:  # a timeout or a dropped page is counted, not fatal
                errors.append(f"{photo.name}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    finally:
        await context.close()


async def _drive(url: str, photos: list[Path], sessions: int, timeout_s: float, budget_s: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tasks = [_session(browser, url, photos[i::sessions], timeout_s, latencies, errors) for i in range(sessions)]
        start = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget_s)
        except TimeoutError:
            errors.append(f"budget of {budget_s:.0f} s exceeded")
        wall = time.perf_counter() - start
        await browser.close()
    return {
        "uploads": len(photos),
        "answered": len(latencies),
        "errors": errors,
        "wall_s": round(wall, 1),
        "latencies": latencies,
    }


def run_load(sessions: int, rounds: int, timeout_s: float = 300.0, budget_s: float = 900.0) -> dict:
    """Serve the app, warm its model with one upload, then run the load; returns the figures."""
    with tempfile.TemporaryDirectory() as cache:
        offline = {"CHAMPY_GBIF_API": "http://127.0.0.1:9", "CHAMPY_GBIF_CACHE": cache}
        with serving_app(offline) as url:
            memory = PeakMemory()
            memory.start()
            *photos, warmup = load_photos(sessions * rounds + 1)
            warm = asyncio.run(_drive(url, [warmup], 1, timeout_s, budget_s))
            figures = asyncio.run(_drive(url, photos, sessions, timeout_s, budget_s))
            memory.stop()
    latencies = sorted(figures.pop("latencies"))
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))] if latencies else None
    return {
        "sessions": sessions,
        "rounds": rounds,
        **figures,
        "warmup_errors": warm["errors"],
        "p50_s": round(statistics.median(latencies), 2) if latencies else None,
        "p95_s": round(p95, 2) if p95 is not None else None,
        "max_s": round(latencies[-1], 2) if latencies else None,
        "server_rss_start_mb": round(memory.start_mb),
        "server_rss_peak_mb": round(memory.peak_mb),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one upload may take")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds the whole load may take")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    figures = run_browser_benchmark(lambda: run_load(args.sessions, args.rounds, args.timeout, args.budget), args.json)
    if figures is None:
        return 2
    return 1 if figures["errors"] or figures["warmup_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
