"""Faults: the network dropping during GBIF calls and downloads, a full disk while writing the dataset,
and kill -9 during training followed by a rerun that resumes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from app_server import free_port
from badinputs import PORTRAIT
from PIL import Image
from test_dataset_download import _dataset

from champy import atomic
from champy.data.download import DownloadOptions, download_images
from champy.data.fetch import RetryPolicy
from champy.gbif.service import SNAPSHOT, get_occurrences
from champy.gbif.settings import GbifSettings
from champy.models.storage import load_keras_model
from champy.paths import DATA_DIR, PROJECT_ROOT

FAST_RETRY = RetryPolicy(attempts=2, backoff=0.01, connect_timeout=1.0, read_timeout=1.0)
ENV = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


class _Photos(BaseHTTPRequestHandler):
    """Answers every request with the same real photo."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = PORTRAIT.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(handler, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def _whole_jpegs(root: Path) -> list[Path]:
    photos = sorted(root.rglob("*.jpg"))
    for photo in photos:
        with Image.open(photo) as image:
            image.load()  # raises for a truncated file
    return photos


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part")]


@pytest.fixture
def dataset(tmp_path) -> tuple[Path, int]:
    """A selected dataset whose image URLs point at a port where nothing listens yet."""
    port = free_port()
    selected = _dataset(tmp_path / "dataset", SimpleNamespace(base=f"http://127.0.0.1:{port}"), lambda _: "photo")
    assert len(selected) >= 5
    return tmp_path / "dataset", port


def test_network_loss_during_download_is_recorded_then_resumed(dataset):
    root, port = dataset
    lost = download_images(root, DownloadOptions(workers=4, retry=FAST_RETRY, progress=False))
    failures = pd.read_csv(root / "failures.csv")
    assert lost["failed"] == lost["selected"] == len(failures) and lost["downloaded"] == 0
    assert failures["reason"].str.fullmatch(r"ConnectionError after 2 attempts").all()
    assert not _whole_jpegs(root) and not _leftovers(root)
    server = _serve(_Photos, port)
    try:
        back = download_images(root, DownloadOptions(workers=4, retry=FAST_RETRY, progress=False))
    finally:
        _stop(server)
    assert back["downloaded"] == back["selected"] and back["failed"] == 0
    assert len(_whole_jpegs(root)) == back["selected"] and pd.read_csv(root / "failures.csv").empty


def test_disk_full_while_writing_leaves_no_file_and_a_reason(dataset, monkeypatch):
    """A full disk reported when the data is flushed (as delayed allocation does) is simulated at fsync."""
    root, port = dataset

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    server = _serve(_Photos, port)
    try:
        with pytest.raises(OSError, match="No space left"):  # the failures file cannot be written either
            download_images(root, DownloadOptions(workers=4, retry=FAST_RETRY, progress=False))
    finally:
        _stop(server)
    assert not _whole_jpegs(root) and not _leftovers(root) and not (root / "failures.csv").exists()


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    return (
        os.geteuid() == 0
        and shutil.which("mount") is not None
        and subprocess.run(command, capture_output=True).returncode == 0
    )


@pytest.mark.slow
def test_real_full_disk_during_download_then_resume(dataset, tmp_path):
    root, port = dataset
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "100k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    server = _serve(_Photos, port)
    try:
        shutil.copy(root / "selected.parquet", disk)
        command = [
            sys.executable,
            "-m",
            "champy",
            "dataset",
            "download",
            "--out",
            str(disk),
            "--quiet",
            "--workers",
            "2",
        ]
        full = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)
        assert "Traceback" not in full.stderr
        if full.returncode == 2:  # not even the failures file fitted
            assert full.stderr.strip().splitlines() == ["champy: error: [Errno 28] No space left on device"]
        else:
            assert full.returncode == 0
            reasons = pd.read_csv(disk / "failures.csv")["reason"]
            assert len(reasons) and reasons.str.contains("No space left on device").all()
        kept = _whole_jpegs(disk)
        assert 0 < len(kept) < len(pd.read_parquet(disk / "selected.parquet"))
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
        resumed = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert len(_whole_jpegs(disk)) == len(pd.read_parquet(disk / "selected.parquet"))
        assert not _leftovers(disk) and pd.read_csv(disk / "failures.csv").empty
    finally:
        _stop(server)
        subprocess.run(["umount", str(disk)], capture_output=True)


class _Reset(BaseHTTPRequestHandler):
    """Drops the connection without a reply."""

    def handle(self) -> None:
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.request.close()


class _CutReply(BaseHTTPRequestHandler):
    """Starts a JSON reply and drops the connection half-way."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "5000")
        self.end_headers()
        self.wfile.write(b'{"usageKey": 2, "scientificName": "Amanita')
        self.close_connection = True


class _Silent(BaseHTTPRequestHandler):
    """Accepts the request and never answers."""

    def handle(self) -> None:
        time.sleep(3)


@pytest.mark.parametrize(
    ("handler", "notice"),
    [
        (_Reset, "GBIF could not be reached"),
        (_CutReply, "GBIF could not be reached"),
        (_Silent, "GBIF did not answer within 0.5 s"),
    ],
)
def test_network_loss_during_a_gbif_call_falls_back_to_the_snapshot(tmp_path, handler, notice):
    server = _serve(handler)
    try:
        settings = GbifSettings(
            api_base=f"http://127.0.0.1:{server.server_address[1]}", cache_dir=tmp_path, timeout=0.5
        )
        result = get_occurrences("Amanita muscaria", DATA_DIR / "occurrences_snapshot.csv", limit=25, settings=settings)
    finally:
        _stop(server)
    assert (result.source, result.count) == (SNAPSHOT, 25)
    assert result.notice.startswith(notice) and result.notice.endswith("Showing the offline snapshot instead.")
    assert not list(tmp_path.rglob("*.json"))  # nothing half-received was cached


TRAIN = [
    "train",
    "--data",
    str(DATA_DIR / "sample_photos"),
    "--rank",
    "genus",
    "--min-per-class",
    "6",
    "--input-size",
    "96",
    "--head-epochs",
    "3",
    "--finetune-epochs",
    "3",
    "--views",
    "2",
]


@pytest.mark.slow
def test_kill_9_during_training_then_the_rerun_resumes(tmp_path):
    run_dir, out = tmp_path / "run", tmp_path / "genus96.h5"
    command = [sys.executable, "-m", "champy", *TRAIN, "--run-dir", str(run_dir), "--out", str(out)]
    first = subprocess.Popen(command, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = run_dir / "history_phase1.csv"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 2:  # header and one finished epoch
            break
        time.sleep(0.2)
    assert first.poll() is None, "training ended before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    views = sorted(run_dir.glob("views_train_*.npy"))
    assert views and not out.exists() and not (run_dir / "phase1.done").exists()
    cached_at = views[0].stat().st_mtime_ns

    rerun = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert views[0].stat().st_mtime_ns == cached_at  # the cached activations were reused, not recomputed
    epochs = pd.read_csv(history)["epoch"].tolist()
    assert sorted(set(epochs)) == [0, 1, 2] and len(epochs) <= 3  # resumed: no epoch trained twice
    assert (run_dir / "phase1.done").exists() and (run_dir / "phase2.done").exists()
    model = load_keras_model(out)
    card = json.loads(out.with_suffix(".json").read_text())
    assert int(model.output_shape[-1]) == len(card["labels"]) and card["metrics"]["test"]["n"] > 0
    assert not _leftovers(tmp_path)
