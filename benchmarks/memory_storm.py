"""The served app under the loads of issue 29, in headless Chromium: CPU seconds and peak memory of the server.

- rerun storm: one session uploads 8 photos of 23.9 MP and clicks a toggle 10 times in 5 s while they are identified;
- crafted photos: a progressive JPEG of 2,000 repeated scans (12 MP) and a PNG of 1.5 million empty chunks, uploaded
  one after the other on the Identify page;
- 8 concurrent sessions, each uploading 2 different WebP photos of 23.9 MP (every one a 381 MB decode).

Each figure: the seconds until the page shows the answer (or the refusal), the server's CPU seconds until it is idle
again (work left running after the answer counts) and its peak resident memory above its level before the load. The
app served is the one in `root` (any checkout, e.g. an older commit unpacked with `git archive`), run from there with
its own `.streamlit/config.toml`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from app_server import CHROMIUM, CHROMIUM_ARGS, free_port, memory_mb, reset_peak_memory  # noqa: E402
from crafted_photos import chunk_stuffed_png, scan_bomb_jpeg  # noqa: E402

LARGE = (5976, 4000)  # 23.9 MP: just under the size that waited for a decode slot before issue 29
TIMEOUT_MS = 600_000
IDLE_CPU_S = 0.05
"""The server is idle when it spends less than this in `IDLE_WINDOW_S`."""
IDLE_WINDOW_S = 2.0
SCANS = 2_000


def cpu_seconds(pid: int) -> float:
    """A process's user and system CPU time so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, limit_s: float = 900.0) -> None:
    """Wait until the server has been idle for `IDLE_WINDOW_S` (its own CPU time, whatever else runs)."""
    deadline = time.monotonic() + limit_s
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(IDLE_WINDOW_S)
        now = cpu_seconds(pid)
        if now - last < IDLE_CPU_S:
            return
        last = now


@contextmanager
def served(root: Path) -> Iterator[tuple[str, int]]:
    """`streamlit run app.py` in `root` (its code and its settings) on a free port; yields the URL and the pid."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    env = {**os.environ, "CHAMPY_GBIF_API": "http://127.0.0.1:9", "PYTHONPATH": str(root)}
    server = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.5)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def photo(source: Image.Image, shade: int, kind: str, folder: Path) -> Path:
    """`source` at 23.9 MP, its colours shifted by `shade` (another file, the same look), as JPEG or WebP."""
    image = source.point(lambda value: min(255, value + shade)).resize(LARGE, Image.Resampling.BILINEAR)
    path = folder / f"large_{shade}.{kind.lower()}"
    options = {"quality": 85} if kind == "JPEG" else {"quality": 60, "method": 0}
    image.save(path, format=kind, **options)
    return path


def crafted(folder: Path) -> list[Path]:
    """The scan-bomb JPEG and the chunk-stuffed PNG, written into `folder`."""
    bomb, stuffed = folder / "scan_bomb.jpg", folder / "chunk_stuffed.png"
    bomb.write_bytes(scan_bomb_jpeg(SCANS))
    stuffed.write_bytes(chunk_stuffed_png())
    return [bomb, stuffed]


ANSWERED = "[data-testid='champyAnswerCard'], [data-testid='stImage'], [data-testid='stAlertContentError']"
"""An answer card (or, in older versions of the page, the answer's photo) or an error."""


DONE = """answered => !!document.querySelector('[data-testid="stMain"]')?.querySelector(answered)
    && !document.querySelector('[data-testid="stStatusWidget"]')"""
"""True in the browser once the page shows an answer or an error and its run is over."""


def _done(page) -> None:
    """Wait until the page shows an answer or an error, and the run is over (checked on every animation frame)."""
    page.wait_for_function(DONE, arg=ANSWERED, polling="raf", timeout=TIMEOUT_MS)


def _open(browser, url: str):
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(url)
    page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=TIMEOUT_MS)
    return page


def _measure(pid: int, act) -> dict:
    """Run `act` (returns when the pages show their answers) and measure it: answer seconds, CPU, peak memory."""
    wait_idle(pid)
    before, cpu = memory_mb(pid), cpu_seconds(pid)
    reset_peak_memory(pid)
    start = time.perf_counter()
    act()
    answered = time.perf_counter() - start
    wait_idle(pid)
    return {
        "answer_s": round(answered, 1),
        "cpu_s": round(cpu_seconds(pid) - cpu, 1),
        "peak_over_mb": round(memory_mb(pid, "VmHWM") - before),
        "peak_mb": round(memory_mb(pid, "VmHWM")),
    }


def storm_figures(root: Path, folder: Path, source: Image.Image, warm: Path) -> dict:
    """The three loads on the app in `root`."""
    from playwright.sync_api import sync_playwright

    storm = [photo(source, shade, "JPEG", folder) for shade in range(8)]
    webps = [photo(source, 10 + shade, "WEBP", folder) for shade in range(16)]
    bomb, stuffed = crafted(folder)
    figures = {}
    with served(root) as (url, pid), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = _open(browser, url)
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(warm))
        _done(page)  # the models are loaded (compiled first, when this machine has not yet)

        def rerun_storm() -> None:
            page.reload()
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(p) for p in storm])
            toggle = page.get_by_text("Use the camera")
            for _ in range(10):
                time.sleep(0.5)
                toggle.click()
            _done(page)

        figures["rerun storm (8 photos of 23.9 MP, 10 clicks)"] = _measure(pid, rerun_storm)
        print(f"{root}: {figures}", file=sys.stderr, flush=True)
        for label, path in (("scan-bomb JPEG", bomb), ("chunk-stuffed PNG", stuffed)):

            def upload(path: Path = path) -> None:
                page.reload()
                page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
                _done(page)

            figures[label] = _measure(pid, upload)

        def sessions() -> None:
            pages = [_open(browser, url) for _ in range(8)]
            for index, session in enumerate(pages):
                chosen = [str(p) for p in webps[2 * index : 2 * index + 2]]
                session.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(chosen)
            for session in pages:
                _done(session)

        figures["8 sessions x 2 WebP of 23.9 MP"] = _measure(pid, sessions)
        browser.close()
    return figures


def print_storm_table(runs: dict[str, dict]) -> None:
    """One markdown row per load, a column group per app measured."""
    labels = list(next(iter(runs.values())))
    print("| load | " + " | ".join(f"{name}: answer s / CPU s / peak +MB" for name in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for label in labels:
        cells = [f"{r[label]['answer_s']} / {r[label]['cpu_s']} / +{r[label]['peak_over_mb']}" for r in runs.values()]
        print(f"| {label} | " + " | ".join(cells) + " |")
