"""`python -m champy`: one command-line tool with a sub-command per task.

Each module in `COMMAND_MODULES` adds its sub-commands with `register(subparsers)` and sets
`func(args) -> int` on them. User errors (`ChampyError`) and system errors such as a full disk (`OSError`)
print one line on stderr and exit with 2;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from champy.errors import ChampyError
from champy.native_output import native_stderr_silenced

COMMAND_MODULES = (
    "champy.cli.train",
    "champy.cli.convert",
    "champy.cli.gate",
    "champy.cli.safety",
    "champy.cli.ensemble",
    "champy.cli.predict",
    "champy.cli.compile",
    "champy.cli.gbif",
    "champy.cli.dataset",
)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """`--help` that ends each option's text with its default (unless it has none or the text already gives it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return f"{text} (default: %(default)s)".lstrip()


class ChampyArgumentParser(argparse.ArgumentParser):
    """An argument parser whose sub-command parsers all show defaults in `--help`."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    parser = ChampyArgumentParser(prog="champy", description="Mushroom identification from photos.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its native start-up chatter (absl, oneDNN, CUDA probing) kept off stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        import tensorflow as tf

        if "TF_CONFIG" not in os.environ:  # multi-worker training must set up its collectives before the first op
            tf.constant(0.0) + 1.0  # first op: device and oneDNN initialisation also log natively


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    import_tensorflow_quietly()  # the registry behind several commands imports Keras at start-up
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ChampyError, OSError) as exc:  # OSError: a full disk, a read-only folder, a missing file...
        print(f"champy: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("champy: interrupted", file=sys.stderr)
        return 130
