"""The Streamlit settings that matter for a public deployment, read from `.streamlit/config.toml`."""

from __future__ import annotations

import tomllib

import pytest

from champy.images import MAX_BYTES
from champy.paths import PROJECT_ROOT

CONFIG = PROJECT_ROOT / ".streamlit" / "config.toml"
STATIC_KINDS = {".json", ".geojson", ".js", ".css", ".png", ".svg", ".md", ".txt"}


@pytest.fixture(scope="module")
def config() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_uploads_are_bounded_and_agree_with_the_image_loader(config):
    limit_mb = config["server"]["maxUploadSize"]
    assert isinstance(limit_mb, int) and 1 <= limit_mb <= MAX_BYTES // 2**20


def test_cross_site_protection_is_on(config):
    assert config["server"].get("enableXsrfProtection", True) is True
    assert config["server"].get("enableCORS", True) is True


def test_error_details_are_hidden(config):
    assert config["client"]["showErrorDetails"] in ("none", False)
    assert config["client"].get("toolbarMode") in ("viewer", "minimal")
    assert config.get("global", {}).get("developmentMode", False) is False


def test_no_file_watching_and_no_telemetry(config):
    assert config["server"].get("fileWatcherType") == "none" and config["server"].get("runOnSave", False) is False
    assert config["server"].get("headless") is True
    assert config["browser"]["gatherUsageStats"] is False


def test_only_static_data_is_served(config):
    """Static serving exposes `static/` alone, which holds map data, no code, no secrets."""
    if not config["server"].get("enableStaticServing", False):
        return
    files = [path for path in (PROJECT_ROOT / "static").rglob("*") if path.is_file()]
    assert files and all(path.suffix in STATIC_KINDS or path.name.startswith("LICENSE") for path in files), files
    assert not [path for path in files if path.name.startswith(".") or "secret" in path.name.lower()]


def test_a_rerun_waits_for_the_run_in_progress(config):
    """With fast reruns, every click started a new run beside the one still identifying (issue 29)."""
    assert config["runner"]["fastReruns"] is False
