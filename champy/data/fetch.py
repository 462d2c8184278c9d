"""HTTP fetching for many images: reused connections, a per-host limit, retries with backoff.

Temporary failures (429, 5xx, timeouts, dropped connections) are retried with exponential
backoff (honouring `Retry-After`); anything else fails at once with a one-line reason.

The retries are this module's own rather than urllib3's `Retry` on the adapter: `Retry` covers a request up to its
response headers, while a connection dropped as the body streams in (streamed, to stop at `MAX_IMAGE_BYTES`) is a
failure of the same kind that it never sees. Both would be needed, and their attempts would multiply.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

USER_AGENT = "champy-dataset/0.1 (research image download)"
MAX_IMAGE_BYTES = 40 * 2**20


class FetchError(Exception):
    """A URL that could not be fetched; the message is the reason written to the failures file."""


class _Temporary(Exception):
    """A failure worth retrying, with the wait the server asked for (if any)."""

    def __init__(self, reason: str, wait: float | None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry temporary failures."""

    attempts: int = 4
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    max_wait: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Fetcher:
    """Thread-safe image fetcher: one `requests.Session` per thread, at most `per_host` requests per host."""

    def __init__(self, per_host: int = 4, retry: RetryPolicy = RetryPolicy()):
        self.per_host = per_host
        self.retry = retry
        self._local = threading.local()
        self._hosts: dict[str, threading.Semaphore] = defaultdict(lambda: threading.Semaphore(per_host))
        self._hosts_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=16, pool_maxsize=self.per_host, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    def _host_slot(self, url: str) -> threading.Semaphore:
        with self._hosts_lock:
            return self._hosts[urlsplit(url).netloc.lower()]

    def _attempt(self, url: str) -> bytes:
        """One request; raises `_Temporary` for failures worth retrying, `FetchError` otherwise."""
        timeout = (self.retry.connect_timeout, self.retry.read_timeout)
        try:
            with self._host_slot(url), self._session().get(url, timeout=timeout, stream=True) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Temporary(f"HTTP {response.status_code}", _retry_after(response))
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(256 * 1024):
                    body += chunk
                    if len(body) > MAX_IMAGE_BYTES:
                        raise FetchError(f"larger than {MAX_IMAGE_BYTES // 2**20} MB")
                return bytes(body)
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Temporary(f"{type(exc).__name__}", None) from None
        except requests.RequestException as exc:
            raise FetchError(f"bad request ({type(exc).__name__})") from None

    def get(self, url: str) -> bytes:
        """The body of `url`, after up to `retry.attempts` tries; raises `FetchError` with the last reason."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError("not an http(s) URL")
        attempts = max(1, self.retry.attempts)
        attempt = 0
        while True:
            try:
                return self._attempt(url)
            except _Temporary as temporary:
                attempt += 1
                if attempt >= attempts:
                    raise FetchError(f"{temporary.reason} after {attempts} attempts") from None
                wait = self.retry.backoff * 2 ** (attempt - 1) if temporary.wait is None else temporary.wait
                time.sleep(min(wait, self.retry.max_wait))
