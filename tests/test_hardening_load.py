"""A small run of the load benchmark against the real Streamlit server on 127.0.0.1 (headless Chromium)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from app_server import CHROMIUM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from load import run_load  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs /usr/bin/chromium")
def test_concurrent_sessions_are_all_answered_with_bounded_memory():
    figures = run_load(sessions=4, rounds=2, timeout_s=240, budget_s=480)
    assert figures["errors"] == [] and figures["warmup_errors"] == []
    assert figures["answered"] == figures["uploads"] == 8
    assert 0 < figures["p50_s"] <= figures["p95_s"] < 240
    assert 0 < figures["server_rss_peak_mb"] < 4096
