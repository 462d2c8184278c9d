"""Longer fuzzing runs of image decoding and Darwin Core Archive parsing: examples/s and any failure.

Each target is fed `--examples` random mutations of real files (see tests/fuzz_targets.py) with a
fresh random seed; a failure is shrunk by hypothesis and printed with its minimal input.

    python benchmarks/fuzz.py [--examples 2000] [--target images|meta|archives]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz_targets import (
    check_archive_opening,
    check_image_decoding,
    check_meta_parsing,  # noqa: E402
    mutated_archives,
    mutated_images,
    mutated_metas,
)

TARGETS = {
    "images": (mutated_images, check_image_decoding),
    "meta": (mutated_metas, check_meta_parsing),
    "archives": (mutated_archives, check_archive_opening),
}


def fuzz(name: str, examples: int) -> tuple[int, float, str | None]:
    """Run one target; returns (examples run, seconds, failure text or None)."""
    strategy, check = TARGETS[name]
    calls = 0

    def counted(data: bytes) -> None:
        nonlocal calls
        calls += 1
        check(data)

    run = settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
        given(strategy())(counted)
    )
    start = time.perf_counter()
    try:
        run()
        failure = None
    except Exception:  # the shrunk failing example and its exception, whatever its type
        failure = traceback.format_exc(limit=-4)
    return calls, time.perf_counter() - start, failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="mutations per target")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append", help="default: all")
    args = parser.parse_args(argv)
    failed = False
    for name in args.target or list(TARGETS):
        calls, seconds, failure = fuzz(name, args.examples)
        print(
            f"{name:<9} {calls:6d} examples in {seconds:6.1f} s = {calls / seconds:7.1f} examples/s  "
            f"{'FAILED' if failure else 'no failure'}"
        )
        if failure:
            failed = True
            print(failure)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
