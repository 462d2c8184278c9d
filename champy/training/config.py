"""The training configuration: every knob of a run in one dataclass, saved into the model card."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from champy.errors import ChampyError

ENSEMBLE_MAX_KNOWN_FLAGGED = 0.04
"""The share of known validation photos an ensemble's unknown threshold may flag (`champy fit-ensemble`). Lower than
a single model's 5 %: the members' temperatures and the weights are fitted on those photos, so they look surer than
new ones; over the splits of `benchmarks/ensemble_splits.py`, 5 % on validation flagged about 6 % of known test
photos and 4 % about 4.5 %."""


@dataclass
class TrainConfig:
    """One training run. Defaults reproduce the shipped default model."""

    data: Path
    out: Path
    backbone: str = "mobilenet_v2"
    rank: str = "species"
    weights: str | None = "imagenet"
    input_size: int | None = None
    min_per_class: int = 15
    other_class: bool = True
    """Pool the classes below `min_per_class` into one "other fungi" output (outlier exposure)."""
    head_epochs: int = 20
    finetune_epochs: int = 20
    batch_size: int = 32
    head_learning_rate: float = 1e-3
    finetune_learning_rate: float = 1e-4
    patience: int = 5
    class_weights: str = "sqrt"
    """Loss weights per class: "balanced" (every class counts the same), "sqrt" (half-way), "none"."""
    label_smoothing: float = 0.1
    """Share of each target spread evenly over the other classes (0: plain cross-entropy)."""
    weight_decay: float = 0.05
    """Decoupled weight decay (AdamW) for both phases; 0 keeps plain Adam."""
    finetune_after: str | None = None
    """Last layer kept frozen in the fine-tuning phase (default: the backbone's, from the registry)."""
    views: int = 6
    """CPU fast path: cached views per training image (the first plain, the others augmented)."""
    mode: str = "auto"
    """"cached" (CPU fast path), "full" (images through the whole model), or "auto"."""
    seed: int = 42
    run_dir: Path | None = None
    max_known_flagged: float = 0.05
    """Open set: the share of known-species validation photos the unknown threshold may flag."""
    extra_other: tuple[str, ...] = ()
    """Labelled photo folders whose photos of species outside the classes join "other fungi" in the training split
    only (never validation or test); deadly and poisonous species stay out, so the safety benchmark's unseen
    dangerous photos stay unseen."""
    held_out_sources: tuple[str, ...] = ()
    """Sources (`champy.data.sources`) of `extra_other` never trained on: kept for the cross-source test."""
    degrade_views: bool = False
    """CPU fast path: the augmented views also vary the photo's effective resolution (64-256 px and back), JPEG
    quality and sharpness, so that how a collection was photographed and stored is no cue to the class."""
    source_balance: bool = False
    """Within a class, weight each photo by 1/sqrt(photos of its source in that class), class total unchanged, so
    that one collection does not make up what the class looks like."""

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.out = Path(self.out)
        self.run_dir = Path(self.run_dir) if self.run_dir else Path("runs") / self.out.stem
        self.extra_other = tuple(str(folder) for folder in self.extra_other)
        self.held_out_sources = tuple(self.held_out_sources)
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ChampyError(f"--label-smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.weight_decay < 0.0:
            raise ChampyError(f"--weight-decay must be 0 or more, got {self.weight_decay}")

    def to_dict(self) -> dict:
        return {
            key: str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }
