"""Serving the Streamlit app on a local port and driving its Identify page in headless Chromium.

What the end-to-end tests and the app benchmarks share: start `streamlit run app.py` in a
subprocess, wait for its health endpoint, and upload photos through a Playwright page.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from champy.paths import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APP_SCRIPT = PROJECT_ROOT / "app.py"
ANSWER_CARD = "champyAnswerCard"
"""The test id of the Identify page's answer card: its appearance marks a finished identification."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving_app(
    env: dict[str, str] | None = None, startup_seconds: float = 120.0, script: Path = APP_SCRIPT
) -> Iterator[str]:
    """Run `streamlit run <script>` (the app by default) on 127.0.0.1 (a free port) for the duration; yields its URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
    ]
    server = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(server, f"{url}/_stcore/health", startup_seconds)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_until_healthy(server: subprocess.Popen, health_url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            if requests.get(health_url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not answer {health_url} within {seconds:.0f} s")


def streamlit_children(pid: int) -> list[int]:
    """The process ids of the Streamlit servers that process `pid` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == pid and b"streamlit" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory in MB (`VmRSS`: now; `VmHWM`: its peak), 0 when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak_memory(pid: int) -> None:
    """Start a process's peak resident memory (`VmHWM`) afresh from its current size (Linux)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def open_identify_page(page: Any, url: str, timeout_s: float = 120.0) -> None:
    """Load the Identify page in a Playwright `page` and wait until its uploader is ready."""
    page.goto(url)
    page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=timeout_s * 1000)


SHOWN = """([testId, text]) => [...document.querySelectorAll(`[data-testid="${testId}"]`)].some(
    element => element.textContent.includes(text) && element.getBoundingClientRect().height > 0)"""
"""True in the browser once an element with test id `testId` whose text holds `text` is on the page and laid out."""


def _upload(page: Any, photos: list[Path], timeout_s: float, marker: str | None) -> float:
    """Replace any earlier upload by `photos` and wait for the result (the answer card, or the image captioned
    `marker`), checked on every animation frame; returns the `time.perf_counter()` at which the files were handed to
    the uploader. (A locator's wait checks at growing intervals, 20, 50, 100, 100, then 500 ms apart, which adds up to
    100 ms to a warm answer and up to 500 ms to a slower one, more to one page than to another.)"""
    test_id, text = ("stImageCaption", marker) if marker else (ANSWER_CARD, "")
    earlier = page.get_by_test_id("stFileChipDeleteBtn")
    while earlier.count():
        earlier.first.click()
    page.get_by_test_id(test_id).filter(has_text=text).wait_for(state="detached", timeout=timeout_s * 1000)
    start = time.perf_counter()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(photo) for photo in photos])
    page.wait_for_function(SHOWN, arg=[test_id, text], polling="raf", timeout=timeout_s * 1000)
    return start


def upload_and_time(
    page: Any, photos: list[Path], timeout_s: float = 120.0, marker: str | None = None
) -> tuple[float, float]:
    """On the open Identify page, replace any earlier upload by `photos`; returns the seconds from handing the files
    to the uploader to the answer card being shown (on another page: the image captioned `marker`), and to the whole
    page being drawn (`wait_until_drawn`)."""
    start = _upload(page, photos, timeout_s, marker)
    shown = time.perf_counter() - start
    wait_until_drawn(page, timeout_s)
    return shown, time.perf_counter() - start


def upload_and_wait(page: Any, photos: list[Path], timeout_s: float = 120.0, marker: str | None = None) -> float:
    """On the open Identify page, replace any earlier upload by `photos` and wait until the whole page is drawn (the
    answer card shows first; what the tests read below it comes after).

    Returns the seconds from handing the files to the uploader to the answer card being shown; on another page, to
    the image captioned `marker`.
    """
    return upload_and_time(page, photos, timeout_s, marker)[0]


DRAWN = """() => {
    if (document.querySelector('[data-testid="stStatusWidget"]')) return false;  // the script is still running
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;  // an element still loading its code
    const images = [...document.querySelectorAll('[data-testid="stMain"] img')];
    if (!images.every(img => img.complete && img.naturalWidth > 0)) return false;
    const charts = [...document.querySelectorAll('.js-plotly-plot')];
    if (!charts.every(chart => chart.querySelector('.main-svg'))) return false;
    return [...document.querySelectorAll('.js-plotly-plot .geo')].every(
        geo => (geo.querySelector('.countries path')?.getAttribute('d') || '').length > 1000);
}"""
"""True in the browser once the page's script has finished and every image and chart (maps too) is drawn."""


def wait_until_drawn(page: Any, timeout_s: float = 120.0) -> None:
    """Wait until the Streamlit page in `page` is fully drawn (`DRAWN`), checked on every animation frame."""
    page.wait_for_function(DRAWN, timeout=timeout_s * 1000)


def run_browser_benchmark(measure: Callable[[], dict], json_path: Path | None) -> dict | None:
    """Run a browser benchmark's `measure`, print its figures and write them to `json_path` if given.

    Returns None, after one line on stderr, when there is no browser to drive.
    """
    if not CHROMIUM.is_file():
        print(f"no browser at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return None
    figures = measure()
    text = json.dumps(figures, indent=2)
    print(text)
    if json_path:
        json_path.write_text(text + "\n", encoding="utf-8")
    return figures
