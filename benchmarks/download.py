"""Download throughput: images/s with N workers versus 1, against a local server with latency.

A server on 127.0.0.1 answers every request after `--delay` seconds with a real photo from the
shared collection; champy's download step fetches, verifies, resizes and writes `--images` of them.

    python benchmarks/download.py [--images 160] [--delay 0.1] [--workers 16]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

from champy.data.download import DownloadOptions, download_images
from champy.data.selection import SELECTED_FILE
from champy.paths import SHARED_DIR

PHOTOS = sorted((SHARED_DIR / "data" / "photos").glob("*/*.jpg"))


class _SlowPhotos(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.1

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.delay)
        body = PHOTOS[int(self.path.strip("/").split(".")[0]) % len(PHOTOS)].read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _selection(folder: Path, base: str, images: int) -> None:
    """A selection table of `images` photos on the local server (the columns the download step reads)."""
    pd.DataFrame(
        {
            "gbifID": [str(1000 + i) for i in range(images)],
            "n": [1] * images,
            "identifier": [f"{base}/{i}.jpg" for i in range(images)],
            "path": [f"Fungi/bench/{i % 8}/{1000 + i}_1.jpg" for i in range(images)],
        }
    ).to_parquet(folder / SELECTED_FILE, index=False)


def _images_per_second(base: str, images: int, workers: int, per_host: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        _selection(Path(tmp), base, images)
        start = time.monotonic()
        report = download_images(tmp, DownloadOptions(workers=workers, per_host=per_host, progress=False))
        seconds = time.monotonic() - start
    if report["failed"]:
        raise SystemExit(f"{report['failed']} downloads failed")
    return images / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=160)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the server waits before each answer")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    _SlowPhotos.delay = args.delay
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowPhotos)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        print(f"{args.images} real photos, {args.delay * 1000:.0f} ms latency per request")
        baseline = _images_per_second(base, args.images, 1, 1)
        print(f"{'workers':>8}{'per host':>10}{'images/s':>10}{'speed-up':>10}")
        print(f"{1:>8}{1:>10}{baseline:>10.1f}{1:>10.1f}")
        for per_host in (4, args.workers):
            rate = _images_per_second(base, args.images, args.workers, per_host)
            print(f"{args.workers:>8}{per_host:>10}{rate:>10.1f}{rate / baseline:>10.1f}")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
