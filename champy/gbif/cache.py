"""A disk cache of GBIF JSON answers, one file per request URL, each stamped with its fetch time."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from champy.atomic import write_json


@dataclass(frozen=True)
class CachedAnswer:
    """A JSON body and the moment it was fetched from GBIF."""

    body: Any
    fetched_at: datetime


class ResponseCache:
    """Answers kept under `directory` and trusted for `max_age` after they were fetched."""

    def __init__(self, directory: Path, max_age: timedelta) -> None:
        self.directory = Path(directory)
        self.max_age = max_age

    def path_for(self, url: str) -> Path:
        """The cache file of `url`."""
        return self.directory / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()}.json"

    def load(self, url: str) -> CachedAnswer | None:
        """The cached answer for `url`, or None when there is none, it has expired or it is unreadable."""
        try:
            entry = json.loads(self.path_for(url).read_text(encoding="utf-8"))
            fetched_at = datetime.fromisoformat(entry["fetched_at"])
            body = entry["body"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if fetched_at.tzinfo is None or datetime.now(UTC) - fetched_at > self.max_age:
            return None
        return CachedAnswer(body, fetched_at)

    def store(self, url: str, answer: CachedAnswer) -> bool:
        """Keep `answer` for `url`; False (and nothing raised) when the cache folder cannot be written."""
        entry = {"url": url, "fetched_at": answer.fetched_at.isoformat(), "body": answer.body}
        try:
            write_json(self.path_for(url), entry)
        except OSError:
            return False
        return True
