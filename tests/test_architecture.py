"""The architecture as a newcomer can check it: answering a photo loads no training code, the library no Streamlit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from champy.paths import PROJECT_ROOT

LOADED_MODULES = """
import json, sys
import champy.inference, champy.inference.identification
print(json.dumps(sorted(name for name in sys.modules if name.startswith("champy."))))
"""


def test_inference_imports_nothing_from_training():
    run = subprocess.run(
        [sys.executable, "-c", LOADED_MODULES],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    assert "champy.inference.identification" in loaded and "champy.evaluation.calibration" in loaded
    assert [name for name in loaded if name == "champy.training" or name.startswith("champy.training.")] == []


EVERY_LIBRARY_MODULE = """
import json, pkgutil, importlib, sys
import champy
for module in pkgutil.walk_packages(champy.__path__, "champy."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("streamlit", "champy_app"))))
"""


def test_the_library_never_imports_streamlit():
    """Every module of `champy` imports without Streamlit or the app's helpers (they live in champy_app/)."""
    run = subprocess.run(
        [sys.executable, "-c", EVERY_LIBRARY_MODULE],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
