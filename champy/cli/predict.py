"""`champy predict`: identify the mushroom in one or more photos, or in every photo of a folder.

Each photo is answered on its own, as soon as it is (text or JSON); a photo that cannot be read gets one line on
stderr, the others are still answered, and the exit code is 2. A folder stands for every image file under it
(recursively, sorted by path); its other files are listed on stderr as skipped. `--json` prints one JSON array with
an object per answered photo; `--explain DIR` writes each photo's Grad-CAM overlay as a PNG and says where
(a text line per photo, or `gradcam_overlay` in its JSON object). In the text output and on stderr, control
characters of file names are printed escaped (`champy.terminal_text`): a name cannot forge or hide an answer line.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from PIL import Image

from champy.errors import BadImageError, ChampyError
from champy.paths import DEFAULT_MODEL
from champy.scoring.percent import probability_text
from champy.terminal_text import escaped


def _table(result) -> str:
    """The text answer: the risk level first, then the answer, its reasons, the candidates and warnings."""
    level = f"{result.risk.level.upper()} RISK" if result.risk else "RISK NOT ASSESSED"
    lines = [
        f"{escaped(result.image)}: {level} · {escaped(result.answer)}  [{result.verdict}, mushroom probability "
        f"{probability_text(result.mushroom_probability)}, model {result.model}]"
    ]
    lines += [f"  ! {escaped(reason)}" for reason in (result.risk.reasons if result.risk else [])]
    for candidate in result.species:
        shown = probability_text(candidate.probability)
        lines.append(f"  {shown:>8}  {escaped(candidate.name):<32} {candidate.edibility}")
    genus = ", ".join(f"{escaped(g.name)} {probability_text(g.probability, 0)}" for g in result.genus[:3])
    lines.append(f"  genus: {genus}")
    lines += [f"  WARNING: {escaped(w)}" for w in result.warnings]
    return "\n".join(lines)


def _explain_path(directory: Path, image: str, index: int) -> Path:
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in Path(image).stem)[:80] or "photo"
    return directory / f"{index:03d}_{stem}_gradcam.png"


def _write_overlay(overlay, target: Path) -> Path:
    """Save a Grad-CAM overlay as a PNG (atomically) and return where it went."""
    from champy.atomic import write_bytes

    encoded = io.BytesIO()
    Image.fromarray(overlay).save(encoded, format="PNG")
    write_bytes(target, encoded.getvalue())
    return target


def photo_paths(arguments: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The photos the arguments name, the files skipped and the folders without a photo: a folder stands for the
    image files under it (recursively, sorted), its other files are skipped; any other argument is taken as a photo
    file."""
    photos, skipped, empty = [], [], []
    for argument in arguments:
        if not argument.strip():
            raise ChampyError("an empty argument: name a photo file or a folder of photos")
        if not Path(argument).is_dir():
            photos.append(argument)
            continue
        from champy.data.labelled import IMAGE_SUFFIXES

        before = len(photos)
        for path in sorted(path for path in Path(argument).rglob("*") if not path.is_dir()):
            (photos if path.suffix.lower() in IMAGE_SUFFIXES else skipped).append(str(path))
        if len(photos) == before:
            empty.append(argument)
    return photos, skipped, empty


def _predict(args: argparse.Namespace) -> int:
    from champy.edibility import DISCLAIMER
    from champy.inference import identify, load_model

    images, skipped, empty = photo_paths(args.images)
    for path in skipped:
        print(f"champy: skipped {escaped(path)} (not an image file)", file=sys.stderr)
    if not images:
        raise ChampyError(f"no photo to identify in {', '.join(args.images)}")  # main() escapes what it prints
    for folder in empty:
        print(f"champy: error: {escaped(folder)}: no photo in this folder", file=sys.stderr)
    model = load_model(args.model)
    answers, failed = 0, bool(empty)
    if args.json:
        print("[", flush=True)
    for index, image in enumerate(images):
        try:
            result = identify(
                image,
                model,
                top_k=args.top_k,
                explain=args.explain is not None,
                name=image,
                min_probability=args.min_probability,
            )
        except BadImageError as exc:
            print(f"champy: error: {escaped(exc)}", file=sys.stderr)
            failed = True
            continue
        answer = result.to_dict()
        if args.explain is not None and result.overlay is not None:
            answer["gradcam_overlay"] = str(_write_overlay(result.overlay, _explain_path(args.explain, image, index)))
        if args.json:  # the array's items one by one, so each answer shows as soon as it is known
            item = json.dumps(answer, indent=2, ensure_ascii=False)
            print(("," if answers else "") + "\n".join("  " + line for line in item.splitlines()), flush=True)
        else:
            print(_table(result))
            if "gradcam_overlay" in answer:
                print(f"  Grad-CAM overlay written to {escaped(answer['gradcam_overlay'])}")
            elif args.explain is not None:
                print("  no Grad-CAM overlay: not a mushroom")
            sys.stdout.flush()
        answers += 1
    print("]" if args.json else f"\n{DISCLAIMER}")
    return 2 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="identify the mushroom in photos")
    parser.add_argument(
        "images", nargs="+", help="photo files (JPEG, PNG, WebP, GIF, TIFF, HEIC...) or folders of them (recursively)"
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="shipped model name, or a .h5 / .ensemble.json path")
    parser.add_argument("--top-k", type=int, default=5, help="species listed per photo")
    parser.add_argument("--min-probability", type=float, default=0.0, help="list only species at least this probable")
    parser.add_argument(
        "--explain", type=Path, default=None, metavar="DIR", help="write Grad-CAM overlays into this folder"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array")
    parser.set_defaults(func=_predict)
