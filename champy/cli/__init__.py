"""`python -m champy`: one command-line tool with a sub-command per task.

Each module in `COMMAND_MODULES` adds its sub-commands with `register(subparsers)` and sets
`func(args) -> int` on them. User errors (`ChampyError`) print one line on stderr and exit with 2;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from champy.errors import ChampyError

COMMAND_MODULES = (
    "champy.cli.train",
    "champy.cli.convert",
    "champy.cli.gate",
    "champy.cli.predict",
    "champy.cli.gbif",
    "champy.cli.dataset",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(prog="champy", description="Mushroom identification from photos.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ChampyError as exc:
        print(f"champy: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("champy: interrupted", file=sys.stderr)
        return 130
