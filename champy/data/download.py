"""Download step: fetch the selected images concurrently into the dataset tree, resumably.

An image whose file already exists is skipped (files are written atomically, so an existing
file is always complete), and so is one that the mushroom gate moved to `rejected/`. Temporary
files left by a killed run are removed before starting.
Failures go to a CSV with the reason; `shard=(i, n)` takes the i-th of n disjoint parts, split by
`gbifID`, so several machines can share one download.
"""

from __future__ import annotations

import csv
import io
import zlib
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from champy.atomic import write_text
from champy.data.fetch import Fetcher, FetchError, RetryPolicy
from champy.data.gate_step import rejected_path
from champy.data.imagefile import save_photo
from champy.data.progress import Progress
from champy.data.selection import read_selected
from champy.errors import BadImageError, ChampyError

FAILURE_COLUMNS = ("gbifID", "n", "url", "path", "reason")


@dataclass(frozen=True)
class DownloadOptions:
    """How to download: concurrency, per-host limit, image size, shard and retry policy."""

    workers: int = 16
    per_host: int = 4
    max_side: int = 512
    shard: tuple[int, int] = (1, 1)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: bool = True


def parse_shard(text: str) -> tuple[int, int]:
    """`"i/n"` -> (i, n) with 1 <= i <= n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise ChampyError(f"--shard must look like i/n (e.g. 2/4), got {text!r}") from None
    if not 1 <= index <= count:
        raise ChampyError(f"--shard {text}: need 1 <= i <= n")
    return index, count


def in_shard(gbif_id: str, shard: tuple[int, int]) -> bool:
    """Whether the occurrence `gbif_id` belongs to shard (i, n); every image of an occurrence goes together."""
    index, count = shard
    return zlib.crc32(str(gbif_id).encode("utf-8")) % count == index - 1


def failures_file(shard: tuple[int, int]) -> str:
    """The failures CSV's name for a shard."""
    return "failures.csv" if shard[1] == 1 else f"failures-{shard[0]}-of-{shard[1]}.csv"


def _target(root: Path, relpath: str) -> Path:
    target = (root / relpath).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ChampyError(f"refusing to write outside the dataset folder: {relpath}")
    return target


def remove_stale_parts(targets: list[Path]) -> int:
    """Delete temporary files that a killed run left beside any of `targets`; returns how many."""
    wanted: dict[Path, set[str]] = {}
    for target in targets:
        wanted.setdefault(target.parent, set()).add(target.name)
    removed = 0
    for folder, names in wanted.items():
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            name = entry.name
            if name.startswith(".") and name.endswith(".part") and name[1:].rsplit(".", 2)[0] in names:
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def _fetch_one(fetcher: Fetcher, url: str, target: Path, max_side: int) -> str | None:
    """Download one image; returns None on success or the failure reason."""
    try:
        save_photo(fetcher.get(url), target, max_side=max_side)
        return None
    except FetchError as exc:
        return str(exc)
    except BadImageError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot write the file ({exc.strerror or exc})"


def _failures_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FAILURE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def download_images(out_dir: str | Path, options: DownloadOptions = DownloadOptions()) -> dict:
    """Fetch every selected image of this shard that is not on disk yet; returns counts."""
    root = Path(out_dir)
    selected = read_selected(root)
    mine = selected[[in_shard(g, options.shard) for g in selected["gbifID"]]] if len(selected) else selected
    targets = [_target(root, p) for p in mine["path"]]
    stale = remove_stale_parts(targets)
    todo = [
        (row, target)
        for row, target in zip(mine.itertuples(index=False), targets)
        if not target.exists() and not rejected_path(root, row.path).exists()
    ]
    fetcher = Fetcher(per_host=options.per_host, retry=options.retry)
    progress = Progress(len(todo), f"download {options.shard[0]}/{options.shard[1]}", enabled=options.progress)
    failures: list[dict] = []
    pending: dict[Future, tuple] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, options.workers))
    try:
        queue = iter(todo)
        while True:
            for row, target in queue:
                pending[pool.submit(_fetch_one, fetcher, row.identifier, target, options.max_side)] = row
                if len(pending) >= 4 * options.workers:
                    break
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                row = pending.pop(future)
                reason = future.result()
                if reason is not None:
                    failures.append(
                        {"gbifID": row.gbifID, "n": row.n, "url": row.identifier, "path": row.path, "reason": reason}
                    )
                progress.advance(reason is None)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
        write_text(root / failures_file(options.shard), _failures_csv(failures))
    return {
        "selected": len(mine),
        "already_there": len(mine) - len(todo),
        "downloaded": len(todo) - len(failures),
        "failed": len(failures),
        "stale_parts_removed": stale,
    }
