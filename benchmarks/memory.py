"""Peak memory per photo size, through `champy predict` and through the served app, and what stays after uploads.

Photos: one shipped sample photo (`data/sample_photos`) made into 512 px, 12, 48 and 119 megapixel
versions, as JPEG (enlarged, quality 85) and as PNG (posterised to 16 colours and enlarged
nearest-neighbour, which compresses to well under 1 MB, as a hostile upload would).

CLI: `python -m champy predict --json --explain DIR PHOTO` per photo; its peak resident memory (ru_maxrss).
App: `streamlit run app.py` on 127.0.0.1, each photo uploaded through headless Chromium; the server's
peak resident memory (VmHWM, reset before each upload). Then a burst of three different 119-MP PNGs
and one ordinary photo; the server's resident memory a few seconds later against its level after
the first photo.

With `--storm`, the loads of issue 29 instead (`benchmarks/memory_storm.py`: a rerun storm, crafted photos, 8
concurrent sessions), on this checkout's app and, with `--before DIR`, on another checkout's beside it (e.g. the
commit before issue 29, unpacked by `git archive COMMIT | tar -x -C DIR`).

    python benchmarks/memory.py [--skip-app] [--json results.json]
    python benchmarks/memory.py --storm [--before DIR] [--json results.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the browser harness

from app_server import (
    ANSWER_CARD,
    CHROMIUM,
    CHROMIUM_ARGS,
    memory_mb,
    open_identify_page,
    reset_peak_memory,
    serving_app,
    streamlit_children,
)

from champy.paths import DATA_DIR, PROJECT_ROOT

SOURCE_PHOTO = DATA_DIR / "sample_photos" / "Boletus_edulis" / "mto_mo1725981.jpg"
SIZES = {"512 px": (512, 384), "12 MP": (4000, 3000), "48 MP": (8000, 6000), "119 MP": (10900, 10900)}
SETTLE_S = 5.0
UPLOAD_TIMEOUT_MS = 300_000


def upload(page, photo: Path) -> str:
    """Replace the Identify page's upload by `photo`; wait until the page shows the photo's answer or an error
    (either is a finished request); returns the error's text, empty when the photo was answered."""
    answered = page.get_by_test_id(ANSWER_CARD)
    refused = page.get_by_test_id("stAlertContentError")
    earlier = page.get_by_test_id("stFileChipDeleteBtn")
    while earlier.count():
        earlier.first.click()
    answered.or_(refused).first.wait_for(state="detached", timeout=UPLOAD_TIMEOUT_MS)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(photo))
    answered.or_(refused).first.wait_for(timeout=UPLOAD_TIMEOUT_MS)
    return refused.first.inner_text() if refused.count() else ""


def source_photo() -> Image.Image:
    """A shipped sample photo of a cep (Boletus edulis), RGB."""
    return Image.open(SOURCE_PHOTO).convert("RGB")


def make_photo(photo: Image.Image, size: tuple[int, int], kind: str, folder: Path, shade: int = 0) -> Path:
    """`photo` at `size` as a JPEG or a posterised PNG (`shade` shifts its palette: a different file, same look)."""
    if kind == "JPEG":
        image, options = photo.resize(size, Image.Resampling.BILINEAR), {"quality": 85}
    else:
        posterised = photo.point(lambda value: min(255, value + shade)).quantize(16).convert("RGB")
        image, options = posterised.resize(size, Image.Resampling.NEAREST), {}
    encoded = io.BytesIO()
    image.save(encoded, format=kind, **options)
    path = folder / f"{size[0]}x{size[1]}_{shade}.{kind.lower()}"
    path.write_bytes(encoded.getvalue())
    return path


def cli_peak_mb(photo: Path, explain_dir: Path) -> float:
    """Peak resident memory (MB) of `champy predict --json --explain` on one photo."""
    command = [sys.executable, "-m", "champy", "predict", "--json", "--explain", str(explain_dir), str(photo)]
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"champy predict {photo.name} exited with {child.returncode}")
    return usage.ru_maxrss / 1024


def app_figures(photos: dict[str, Path], burst: list[Path], ordinary: Path) -> dict:
    """Server peak memory per uploaded photo, and resident memory after the first photo and after a burst."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as cache, sync_playwright() as playwright:
        offline = {"CHAMPY_GBIF_API": "http://127.0.0.1:9", "CHAMPY_GBIF_CACHE": cache}
        with serving_app(offline) as url:
            (server,) = streamlit_children(os.getpid())
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            open_identify_page(page, url)
            refusals = {ordinary.name: upload(page, ordinary)}
            time.sleep(SETTLE_S)
            after_first = memory_mb(server)
            peaks = {}
            for label, photo in photos.items():
                reset_peak_memory(server)
                refusals[label] = upload(page, photo)
                peaks[label] = round(memory_mb(server, "VmHWM"))
                print(f"app: {label} peak {peaks[label]} MB {refusals[label]}", file=sys.stderr, flush=True)
            for photo in [*burst, ordinary]:
                refusals[photo.name] = upload(page, photo)
            time.sleep(SETTLE_S)
            after_burst = memory_mb(server)
            browser.close()
    return {
        "peak_mb": peaks,
        "refused": {name: text for name, text in refusals.items() if text},
        "rss_after_first_photo_mb": round(after_first),
        "rss_after_burst_mb": round(after_burst),
        "burst_growth_mb": round(after_burst - after_first),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-app", action="store_true", help="measure the CLI only")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--storm", action="store_true", help="measure the loads of issue 29 instead")
    parser.add_argument("--before", type=Path, default=None, help="with --storm: also measure this checkout's app")
    args = parser.parse_args(argv)
    photo = source_photo()
    if args.storm:
        return storm(photo, args.before, args.json)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        photos = {
            f"{label} {kind}": make_photo(photo, size, kind, folder)
            for kind in ("JPEG", "PNG")
            for label, size in SIZES.items()
        }
        figures: dict = {"photo_mb": {label: round(path.stat().st_size / 2**20, 2) for label, path in photos.items()}}
        figures["cli_peak_mb"] = {}
        for label, path in photos.items():
            figures["cli_peak_mb"][label] = round(cli_peak_mb(path, folder / "explain"))
            print(f"cli: {label} peak {figures['cli_peak_mb'][label]} MB", file=sys.stderr, flush=True)
        if not args.skip_app:
            if not CHROMIUM.is_file():
                print(f"no browser at {CHROMIUM}: apt-get install chromium (or --skip-app)", file=sys.stderr)
                return 2
            burst = [make_photo(photo, SIZES["119 MP"], "PNG", folder, shade) for shade in (1, 2, 3)]
            (folder / "ordinary").mkdir()  # another file: a browser does not upload the file it just had again
            ordinary = make_photo(photo, SIZES["512 px"], "JPEG", folder / "ordinary")
            figures["app"] = app_figures(photos, burst, ordinary)
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def storm(photo: Image.Image, before: Path | None, json_path: Path | None) -> int:
    """The loads of issue 29 on this checkout's app (and on `before`'s), printed as a table."""
    from memory_storm import print_storm_table, storm_figures

    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        warm = make_photo(photo, SIZES["512 px"], "JPEG", folder)
        for name, root in (("before", before), ("after", PROJECT_ROOT)):
            if root is not None:
                runs[name] = storm_figures(root.resolve(), folder, photo, warm)
                print(f"{name}: {runs[name]}", file=sys.stderr, flush=True)
    print_storm_table(runs)
    if json_path:
        json_path.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    return 0


def print_table(figures: dict) -> None:
    """The figures as the README's markdown table, peak memory above the 512-px JPEG's in brackets."""
    cli = figures["cli_peak_mb"]
    app = figures.get("app", {}).get("peak_mb", {})
    print("| photo | file (MB) | CLI peak RSS (MB) | app server peak RSS (MB) |")
    print("|---|---|---|---|")
    for label, size in figures["photo_mb"].items():
        served = f"{app[label]} (+{app[label] - app['512 px JPEG']})" if label in app else "not measured"
        print(f"| {label} | {size} | {cli[label]} (+{cli[label] - cli['512 px JPEG']}) | {served} |")
    if "app" in figures:
        app_all = figures["app"]
        print(
            f"\nApp server RSS after the first photo: {app_all['rss_after_first_photo_mb']} MB; after three 119-MP "
            f"PNGs and one more photo: {app_all['rss_after_burst_mb']} MB ({app_all['burst_growth_mb']:+d} MB)."
        )


if __name__ == "__main__":
    raise SystemExit(main())
