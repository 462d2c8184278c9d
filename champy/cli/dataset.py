"""`champy dataset ...`: build an image dataset from a GBIF Darwin Core Archive export.

`build` runs every step; `ingest`, `select`, `download`, `gate`, `manifest` and `split` run one step each.
Every step can be rerun: ingest is skipped when done for the same archive, downloads resume.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from champy.data.blacklist import load_blacklist
from champy.data.download import DownloadOptions, download_images, parse_shard
from champy.data.gate_step import gate_images
from champy.data.ingest import ingest, is_ingested
from champy.data.manifest import resplit, write_manifest
from champy.data.selection import RANKS, SelectionRules, select_images
from champy.errors import ChampyError
from champy.inference.gate import PhotoGate


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        train, val, test = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three numbers like 0.7,0.15,0.15, got {text!r}") from None
    return train, val, test


def _add_out(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="dataset folder (created if needed)")


def _add_archive(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--archive", required=True, type=Path, help="GBIF Darwin Core Archive (zip or folder)")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rank", choices=RANKS, default="species", help="class rank (default species)")
    parser.add_argument("--classes", type=int, default=64, help="number of classes to keep (default 64)")
    parser.add_argument("--per-class", type=int, default=4000, help="images per class at most (default 4000)")
    parser.add_argument("--min-per-class", type=int, default=None, help="images a class needs (default --per-class)")
    parser.add_argument(
        "--blacklist",
        type=Path,
        default=None,
        help="file of hosts (host or host/path, one per line) to skip; replaces the built-in list",
    )
    parser.add_argument(
        "--no-nc",
        action="store_true",
        help="keep only CC0, CC BY and CC BY-SA images (drop NC, ND, all-rights-reserved, unknown)",
    )


def _add_download(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=16, help="concurrent downloads (default 16)")
    parser.add_argument("--per-host", type=int, default=4, help="concurrent requests per host (default 4)")
    parser.add_argument("--max-side", type=int, default=512, help="longest image side in pixels (default 512)")
    parser.add_argument("--shard", default="1/1", help="download only part i of n, e.g. 2/4 (default 1/1)")
    _add_quiet(parser)


def _add_gate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=128, help="images the gate scores at once (default 128)")


def _add_gate_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gate", action="store_true", help="after the download, move images that are not mushrooms to DIR/rejected/"
    )
    _add_gate(parser)


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_split(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=42, help="split seed (default 42)")
    parser.add_argument(
        "--fractions",
        type=_fractions,
        default=(0.7, 0.15, 0.15),
        help="train,val,test fractions (default 0.7,0.15,0.15)",
    )


def _rules(args: argparse.Namespace) -> SelectionRules:
    if min(args.classes, args.per_class) < 1 or (args.min_per_class is not None and args.min_per_class < 1):
        raise ChampyError("--classes, --per-class and --min-per-class must be at least 1")
    return SelectionRules(
        rank=args.rank,
        classes=args.classes,
        per_class=args.per_class,
        min_per_class=args.min_per_class,
        free_licences_only=args.no_nc,
        blacklist=tuple(load_blacklist(args.blacklist)),
    )


def _download_options(args: argparse.Namespace) -> DownloadOptions:
    if min(args.workers, args.per_host, args.max_side) < 1:
        raise ChampyError("--workers, --per-host and --max-side must be at least 1")
    return DownloadOptions(
        workers=args.workers,
        per_host=args.per_host,
        max_side=args.max_side,
        shard=parse_shard(args.shard),
        progress=not args.quiet,
    )


def _gate_batch_size(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise ChampyError("--batch-size must be at least 1")
    return args.batch_size


def _shown(value: object) -> str:
    """A report value in words: nested reports (rows dropped by reason, how each file was read) in parentheses."""
    if isinstance(value, dict):
        return "(" + (", ".join(f"{key} {_shown(item)}" for key, item in value.items()) or "none") + ")"
    return str(value)


def _print(step: str, report: dict) -> None:
    print(f"{step}: " + ", ".join(f"{key} {_shown(value)}" for key, value in report.items()))


def _ingest(args: argparse.Namespace) -> int:
    _print("ingest", ingest(args.archive, args.out))
    return 0


def _select(args: argparse.Namespace) -> int:
    _print("select", select_images(args.out, _rules(args)))
    return 0


def _download(args: argparse.Namespace) -> int:
    _print("download", download_images(args.out, _download_options(args)))
    return 0


def _gate(args: argparse.Namespace) -> int:
    _print("gate", gate_images(args.out, PhotoGate(), batch_size=_gate_batch_size(args), progress=not args.quiet))
    return 0


def _manifest(args: argparse.Namespace) -> int:
    _print("manifest", write_manifest(args.out, seed=args.seed, fractions=args.fractions))
    return 0


def _split(args: argparse.Namespace) -> int:
    _print("split", resplit(args.out, seed=args.seed, fractions=args.fractions))
    return 0


def _build(args: argparse.Namespace) -> int:
    rules, options, batch_size = _rules(args), _download_options(args), _gate_batch_size(args)
    if is_ingested(args.archive, args.out):
        print("ingest: already done for this archive")
    else:
        _print("ingest", ingest(args.archive, args.out))
    _print("select", select_images(args.out, rules))
    _print("download", download_images(args.out, options))
    if options.shard[1] > 1:
        gate = f"champy dataset gate --out {args.out} && " if args.gate else ""
        print(f"shard {args.shard} done; once every shard is, run: {gate}champy dataset manifest --out {args.out}")
        return 0
    if args.gate:
        _print("gate", gate_images(args.out, PhotoGate(), batch_size=batch_size, progress=options.progress))
    _print("manifest", write_manifest(args.out, seed=args.seed, fractions=args.fractions))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `dataset` and its sub-commands."""
    dataset = subparsers.add_parser("dataset", help="build an image dataset from a GBIF export")
    steps = dataset.add_subparsers(dest="step", metavar="STEP", required=True)
    commands = {
        "build": (
            "run every step: ingest, select, download, [gate,] manifest",
            _build,
            (_add_archive, _add_out, _add_selection, _add_download, _add_gate_flag, _add_split),
        ),
        "ingest": ("read the archive into occurrences.parquet and images.parquet", _ingest, (_add_archive, _add_out)),
        "select": ("filter the images and pick the classes (selected.parquet)", _select, (_add_out, _add_selection)),
        "download": ("fetch the selected images (resumable)", _download, (_add_out, _add_download)),
        "gate": (
            "move downloaded images that are not mushrooms to DIR/rejected/ (writes gate.csv)",
            _gate,
            (_add_out, _add_gate, _add_quiet),
        ),
        "manifest": (
            "write manifest.csv, classes.csv and occurrences.csv from the files on disk",
            _manifest,
            (_add_out, _add_split),
        ),
        "split": ("reassign the train/val/test split of manifest.csv", _split, (_add_out, _add_split)),
    }
    for name, (help_text, func, adders) in commands.items():
        parser = steps.add_parser(name, help=help_text)
        for add in adders:
            add(parser)
        parser.set_defaults(func=func)
