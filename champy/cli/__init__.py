"""`python -m champy`: one command-line tool with a sub-command per task.

Each module in `COMMAND_MODULES` adds its sub-commands with `register(subparsers)` and sets
`func(args) -> int` on them. User errors (`ChampyError`) and system errors such as a full disk (`OSError`)
print one line on stderr (control characters escaped) and exit with 2;
no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from champy.errors import ChampyError
from champy.native_output import import_tensorflow_quietly
from champy.terminal_text import escaped

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
LIGHT_COMMANDS = {"predict": "champy.cli.predict", "compile": "champy.cli.compile"}
"""Sub-commands that need no TensorFlow once the models are compiled: parsed with their own module alone."""


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


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser with the sub-commands of `modules` registered (default: every one)."""
    parser = ChampyArgumentParser(prog="champy", description="Mushroom identification from photos.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    light = LIGHT_COMMANDS.get(argv[0]) if argv else None
    if light is None:
        import_tensorflow_quietly()  # the registry behind several commands imports Keras at start-up
    args = build_parser((light,) if light else COMMAND_MODULES).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ChampyError, OSError) as exc:  # OSError: a full disk, a read-only folder, a missing file...
        print(f"champy: error: {escaped(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("champy: interrupted", file=sys.stderr)
        return 130
