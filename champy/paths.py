"""Where things live: the project tree, the shipped models and the shared data beside the project."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = Path(os.environ.get("CHAMPY_MODELS_DIR", PROJECT_ROOT / "models"))
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_MODEL = "champy_ensemble"
"""The shipped model that answers unless another is chosen (in `MODELS_DIR`)."""
SHARED_DIR = Path(os.environ.get("CHAMPY_SHARED_DIR", PROJECT_ROOT.parent / "shared"))

# ImageNet-pretrained MobileNetV2 weights shipped in the repo (see models/imagenet/README.md).
IMAGENET_WEIGHTS_DIR = MODELS_DIR / "imagenet"
