"""`champy compile`: compile models' forward passes for the CPU ahead of time, into the cache the app and CLI read."""

from __future__ import annotations

import argparse


def _compile(args: argparse.Namespace) -> int:
    from champy.errors import ChampyError
    from champy.inference import available_models, load_model
    from champy.inference.compiled import cache_dir

    for name in args.models or available_models():
        if not load_model(name).compile():
            raise ChampyError(f"{name} could not be compiled for the CPU (it still runs in TensorFlow)")
        print(f"compiled {name} (cache: {cache_dir()})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="compile models for the CPU ahead of time (about twice as fast; the app otherwise does it at start)",
    )
    parser.add_argument("models", nargs="*", help="model names in models/ (default: every shipped model)")
    parser.set_defaults(func=_compile)
