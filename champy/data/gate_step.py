"""Gate step: move downloaded images that are not mushrooms out of the dataset tree.

Every JPEG under `Fungi/` is scored once by a mushroom gate (the caller's: `champy.inference.gate.PhotoGate` for
`champy dataset gate`, so the data layer loads no model itself). Scores are
appended, one batch at a time, to `gate_scores.csv`, so a killed run loses at most one batch and a
rerun scores only new files. An image the gate rejects (or that cannot be decoded) is moved, by an
atomic rename, to `rejected/` under the same relative path; nothing is deleted, and an image that the
current threshold keeps again is moved back. `gate.csv` lists every scored image still on disk with
its `gbifID`, `mushroom_probability` and whether it was `kept`. The manifest is built from `Fungi/`,
so rejected images drop out of it.
"""

from __future__ import annotations

import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from champy.atomic import write_text
from champy.data.manifest import files_on_disk
from champy.data.progress import Progress
from champy.errors import BadImageError, ChampyError
from champy.images import load_model_input

REJECTED_DIR = "rejected"
SCORES_FILE = "gate_scores.csv"
GATE_FILE = "gate.csv"
SCORE_COLUMNS = ("path", "gbifID", "mushroom_probability")


class MushroomScorer(Protocol):
    """What the gate step asks of a mushroom gate."""

    input_size: int
    """The square side, in pixels, of the photos it scores."""
    threshold: float
    """The lowest mushroom probability it keeps."""

    def probability(self, pixels: np.ndarray) -> np.ndarray:
        """P(mushroom) of each photo of a uint8 batch (n, input_size, input_size, 3)."""
        ...


def rejected_path(root: Path, relpath: str) -> Path:
    """Where the image `relpath` (relative to the dataset folder) lies once the gate rejected it."""
    return root / REJECTED_DIR / relpath


def gbif_id_of(relpath: str) -> str:
    """The occurrence id in a tree file name `<gbifID>_<n>.jpg`."""
    return Path(relpath).stem.rsplit("_", 1)[0]


def read_scores(root: Path) -> pd.DataFrame:
    """The cached scores; a line cut short by a killed run is dropped from the file and from the table."""
    path = root / SCORES_FILE
    data = path.read_bytes() if path.is_file() else b""
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) < len(data):
        with open(path, "r+b") as handle:
            handle.truncate(len(complete))
    if not complete.strip():
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    try:
        scores = pd.read_csv(io.BytesIO(complete), dtype={"path": str, "gbifID": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ChampyError(f"cannot read {path} ({exc}); delete it to score every image again") from None
    if list(scores.columns) != list(SCORE_COLUMNS):
        raise ChampyError(f"{path} has unexpected columns; delete it to score every image again")
    return scores


def _append_scores(root: Path, rows: list[tuple[str, str, float]]) -> None:
    """Append one batch of scores in a single write, flushed to disk before the next batch starts."""
    path = root / SCORES_FILE
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not path.is_file() or path.stat().st_size == 0:
        writer.writerow(SCORE_COLUMNS)
    writer.writerows(rows)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())
        handle.flush()
        os.fsync(handle.fileno())


def _decode(path: Path, size: int) -> np.ndarray | None:
    try:
        return load_model_input(path, size).astype(np.uint8)
    except BadImageError:
        return None


def _score_batch(root: Path, relpaths: list[str], gate: MushroomScorer) -> list[tuple[str, str, float]]:
    """(path, gbifID, mushroom probability) per image; NaN for a file that cannot be decoded."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        pixels = list(pool.map(lambda p: _decode(root / p, gate.input_size), relpaths))
    readable = [i for i, image in enumerate(pixels) if image is not None]
    probability = np.full(len(relpaths), np.nan)
    if readable:
        batch = np.stack([pixels[i] for i in readable])
        probability[readable] = gate.probability(batch)
    return [(p, gbif_id_of(p), float(value)) for p, value in zip(relpaths, probability)]


def _move(source: Path, target: Path) -> bool:
    """Rename `source` onto `target` unless `target` exists; returns whether it moved."""
    if not source.is_file() or target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return True


def _score_new_images(root: Path, cached: pd.DataFrame, gate: MushroomScorer, batch_size: int, progress: bool) -> int:
    """Score the images under `Fungi/` that have no cached score, one appended batch at a time; returns how many."""
    todo = sorted(files_on_disk(root) - set(cached["path"]))
    bar = Progress(len(todo), "gate", enabled=progress)
    try:
        for start in range(0, len(todo), batch_size):
            rows = _score_batch(root, todo[start : start + batch_size], gate)
            _append_scores(root, rows)
            for _, _, probability in rows:
                bar.advance(not np.isnan(probability))
    finally:
        bar.close()
    return len(todo)


def _place_by_verdict(root: Path, scores: pd.DataFrame) -> tuple[int, int]:
    """Move rejected images to `rejected/` and kept ones back into the tree; returns (moved aside, moved back)."""
    aside = back = 0
    for relpath, kept in zip(scores["path"], scores["kept"]):
        if kept:
            back += _move(rejected_path(root, relpath), root / relpath)
        else:
            aside += _move(root / relpath, rejected_path(root, relpath))
    return aside, back


def gate_images(out_dir: str | Path, gate: MushroomScorer, batch_size: int = 128, progress: bool = True) -> dict:
    """Score the new images under `Fungi/` with `gate`, move rejected ones to `rejected/`, write `gate.csv`; returns
    counts."""
    root = Path(out_dir)
    if not (root / "Fungi").is_dir():
        raise ChampyError(f"{root / 'Fungi'} not found: run `champy dataset download` first")
    if batch_size < 1:
        raise ChampyError("--batch-size must be at least 1")
    scored = _score_new_images(root, read_scores(root), gate, batch_size, progress)
    scores = read_scores(root)
    scores["kept"] = scores["mushroom_probability"].astype(float) >= gate.threshold
    aside, back = _place_by_verdict(root, scores)
    present = np.array([(root / p).is_file() or rejected_path(root, p).is_file() for p in scores["path"]], bool)
    scores = scores[present].sort_values("path").reindex(columns=[*SCORE_COLUMNS, "kept"])
    write_text(root / GATE_FILE, scores.to_csv(index=False, lineterminator="\n"))
    return {
        "scored": scored,
        "cached": len(scores) - scored,
        "kept": int(scores["kept"].sum()),
        "rejected": int((~scores["kept"]).sum()),
        "unreadable": int(scores["mushroom_probability"].isna().sum()),
        "moved_to_rejected": aside,
        "moved_back": back,
    }
