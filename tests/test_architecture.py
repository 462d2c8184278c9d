"""The architecture as a newcomer can check it: the layers of `pyproject.toml` hold (and a wrong import breaks
them), no module imports itself through others, answering a photo loads no training code, the library no Streamlit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

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


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the `champy` package and the contracts of `pyproject.toml` found in `root`."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)},
    )


def test_the_layers_hold():
    run = lint_imports(PROJECT_ROOT)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in run.stdout


def test_an_import_against_the_layers_breaks_the_contract(tmp_path):
    """The safety rules reaching up into the fitting code (as `champy.safety` once did) fail the check."""
    shutil.copytree(PROJECT_ROOT / "champy", tmp_path / "champy", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    risk = tmp_path / "champy" / "safety" / "risk.py"
    risk.write_text(risk.read_text(encoding="utf-8") + "\nfrom champy.training.vouch_fit import may_be_low\n")
    run = lint_imports(tmp_path)
    assert run.returncode == 1
    assert "champy.safety.risk -> champy.training.vouch_fit" in run.stdout


def import_circles(package: str) -> list[list[str]]:
    """The groups of modules of `package` that import one another, directly or through others (Tarjan's strongly
    connected components of the import graph, lazy imports included)."""
    graph = grimp.build_graph(package)
    order: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = lowest[module] = len(order)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in order:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in stack:
                lowest[module] = min(lowest[module], order[imported])
        if lowest[module] == order[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                circles.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return circles


def test_no_module_imports_itself_through_others():
    assert import_circles("champy") == []
