"""Training curves in a notebook: redrawn from the run folder's CSV histories while a training runs.

The trainer appends one line per epoch to `history_phase1.csv` and `history_phase2.csv` in its run
folder. `LiveCurves` re-reads them every few seconds in a background thread and updates one figure
in the notebook's output; `curves_figure` draws the same curves once, from a model card's history.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pandas as pd
from IPython.display import Image, display
from matplotlib.figure import Figure

METRICS = (("accuracy", "top-1 accuracy"), ("top5", "top-5 accuracy"), ("loss", "loss"))


def run_history(run_dir: str | Path) -> pd.DataFrame:
    """Every epoch logged so far in `run_dir`, both phases, with a running `step` number."""
    frames = []
    for phase in (1, 2):
        path = Path(run_dir) / f"history_phase{phase}.csv"
        if path.is_file() and path.stat().st_size:
            frames.append(pd.read_csv(path).assign(phase=phase))
    history = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    history["step"] = range(1, len(history) + 1)
    return history


def curves_figure(history: pd.DataFrame, title: str) -> Figure:
    """Training and validation curves per epoch, with a dotted line where fine-tuning starts."""
    figure = Figure(figsize=(12, 3.4), layout="constrained")
    for axis, (metric, label) in zip(figure.subplots(1, len(METRICS)), METRICS):
        for column, name in ((metric, "training"), (f"val_{metric}", "validation")):
            if column in history:
                axis.plot(history["step"], history[column], marker="o", label=name)
        if "phase" in history and (history["phase"] == 2).any():
            axis.axvline(history.loc[history["phase"] == 2, "step"].min() - 0.5, linestyle=":", color="grey")
        axis.set(title=label, xlabel="epoch (both phases)")
        axis.legend()
    figure.suptitle(title)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class LiveCurves:
    """`with LiveCurves(run_dir, title): train(...)` shows the curves growing epoch by epoch."""

    def __init__(self, run_dir: str | Path, title: str, every_s: float = 3.0):
        self.run_dir, self.title, self.every_s = Path(run_dir), title, every_s
        self._stop = threading.Event()
        self._handle = None
        self._seen = -1

    def _draw(self) -> None:
        history = run_history(self.run_dir)
        if len(history) != self._seen and len(history):
            self._seen = len(history)
            self._handle.update(Image(_png(curves_figure(history, self.title))))

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._draw()

    def __enter__(self) -> LiveCurves:
        self._handle = display(f"{self.title}: waiting for the first epoch...", display_id=True)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._draw()
