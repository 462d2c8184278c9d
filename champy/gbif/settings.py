"""Where the GBIF API lives, where its answers are cached, for how long, and how long to wait for it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

DEFAULT_API_BASE = "https://api.gbif.org/v1"
API_BASE_ENV = "CHAMPY_GBIF_API"
CACHE_DIR_ENV = "CHAMPY_GBIF_CACHE"
MAX_PAGE_SIZE = 300
"""The most records GBIF's occurrence search returns in one page."""


def default_cache_dir() -> Path:
    """`$CHAMPY_GBIF_CACHE`, else `~/.cache/champy/gbif`."""
    configured = os.environ.get(CACHE_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "champy" / "gbif"


def default_api_base() -> str:
    """`$CHAMPY_GBIF_API` (without a trailing slash), else the public GBIF API."""
    return os.environ.get(API_BASE_ENV, DEFAULT_API_BASE).rstrip("/")


@dataclass(frozen=True)
class GbifSettings:
    """How Champy talks to GBIF. The defaults read the environment when the settings are created."""

    api_base: str = field(default_factory=default_api_base)
    cache_dir: Path = field(default_factory=default_cache_dir)
    max_age: timedelta = timedelta(days=7)
    """Cached answers older than this are fetched again."""
    timeout: float = 10.0
    """Seconds to wait for GBIF to connect and for each read."""
    page_size: int = MAX_PAGE_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {self.page_size}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, not {self.timeout}")
