"""The architecture as a newcomer can check it: answering a photo loads no training code, the library no Streamlit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from champy.paths import PROJECT_ROOT

INFERENCE_MODULES = """
import json, sys
import champy.inference, champy.inference.identification, champy.inference.ensemble
print(json.dumps(sorted(name for name in sys.modules if name.startswith("champy."))))
"""
EVERY_LIBRARY_MODULE = """
import json, pkgutil, importlib, sys
import champy
for module in pkgutil.walk_packages(champy.__path__, "champy."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("streamlit", "champy_app"))))
"""


def printed_by(script: str) -> list[str]:
    """The JSON list a fresh Python process prints after running `script`."""
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_inference_imports_nothing_from_training():
    loaded = printed_by(INFERENCE_MODULES)
    assert "champy.inference.identification" in loaded and "champy.inference.ensemble" in loaded
    assert [name for name in loaded if name == "champy.training" or name.startswith("champy.training.")] == []


def test_the_library_never_imports_streamlit():
    """Every module of `champy` imports without Streamlit or the app's helpers (they live in champy_app/)."""
    assert printed_by(EVERY_LIBRARY_MODULE) == []
