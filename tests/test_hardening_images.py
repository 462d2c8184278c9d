"""The bad-input matrix over the image loader, the dataset download's photo check and `champy predict`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from badinputs import LANDSCAPE, PORTRAIT, Case, exif_rotated_jpeg, large_phone_photo, write_matrix
from PIL import Image

from champy.data.imagefile import save_photo
from champy.errors import BadImageError
from champy.images import load_image, load_model_input, to_model_input
from champy.paths import PROJECT_ROOT

SIZE = 224


@pytest.fixture(scope="module")
def matrix(tmp_path_factory) -> list[Case]:
    return write_matrix(tmp_path_factory.mktemp("matrix"))


def _reference(size: int = SIZE) -> np.ndarray:
    return to_model_input(Image.open(PORTRAIT).convert("RGB"), size)


def _mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_bad_files_get_a_one_line_reason(matrix):
    for case in (c for c in matrix if c.bad):
        with pytest.raises(BadImageError) as caught:
            load_image(case.path)
        message = str(caught.value)
        assert case.reason in message and message.startswith(str(case.path)), (case.name, message)
        assert "\n" not in message and "Traceback" not in message


def test_valid_odd_formats_decode_to_upright_rgb(matrix):
    for case in (c for c in matrix if not c.bad):
        image = load_image(case.path)
        assert image.mode == "RGB" and image.size == case.size, case.name


@pytest.mark.parametrize(
    "name",
    [
        "cmyk.jpg",
        "photo.heic",
        "photo.webp",
        "photo.tiff",
        "photo.bmp",
        "exif_rotated.jpg",
        "Amanite tue-mouches ✓ çéö 🍄.jpg",
        "..%2F..%2Fetc%2Fpasswd.jpg",
    ],
)
def test_re_encoded_photos_give_the_photo(matrix, name):
    path = next(c.path for c in matrix if c.name == name)
    assert _mean_difference(load_model_input(path, SIZE), _reference()) < 6.0


def test_sixteen_bit_gray_is_scaled_not_clipped(matrix):
    pixels = np.asarray(load_image(next(c.path for c in matrix if c.name == "gray16.png")), np.int16)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    gray = np.asarray(Image.open(PORTRAIT).convert("L"), np.int16)
    assert np.abs(pixels[..., 0] - gray).max() <= 2


def test_transparency_is_flattened_onto_white(matrix):
    for name in ("rgba.png", "la.png"):
        pixels = np.asarray(load_image(next(c.path for c in matrix if c.name == name)))
        assert pixels[0].min() >= 250, name  # alpha 0 on the first row
        assert pixels[-1].mean() < 200, name  # opaque last row keeps the photo
    palette_file = next(c.path for c in matrix if c.name == "palette_transparent.png")
    transparent = np.asarray(Image.open(palette_file)) == 0
    pixels = np.asarray(load_image(palette_file))
    assert transparent.any() and (pixels[transparent] == 255).all()
    assert np.asarray(load_image(next(c.path for c in matrix if c.name == "one_pixel.png"))).tolist() == [
        [[255, 255, 255]]
    ]


def test_animated_gif_gives_its_first_frame(matrix):
    path = next(c.path for c in matrix if c.name == "animated.gif")
    frames = Image.open(path)
    first = np.asarray(frames.convert("RGB"))
    frames.seek(1)
    second = np.asarray(frames.convert("RGB"))
    loaded = np.asarray(load_image(path))
    assert (loaded == first).all() and not (loaded == second).all()


def test_exif_orientation_gives_the_physically_rotated_input():
    photo = Image.open(LANDSCAPE).convert("RGB")
    stored_sideways = exif_rotated_jpeg(photo)
    assert Image.open(io.BytesIO(stored_sideways)).size == (photo.height, photo.width)
    upright = to_model_input(photo, SIZE)
    assert _mean_difference(load_model_input(stored_sideways, SIZE), upright) < 4.0
    sideways = to_model_input(photo.transpose(Image.Transpose.ROTATE_90), SIZE)
    assert _mean_difference(sideways, upright) > 20.0  # the check above would fail without the EXIF rotation


def test_a_108_megapixel_phone_photo_is_accepted():
    image = load_image(large_phone_photo(), draft_size=2 * SIZE)
    assert image.mode == "RGB" and image.size[0] / image.size[1] == pytest.approx(12000 / 9000)


def test_missing_file_folder_and_device_are_told_apart(tmp_path):
    for path in (tmp_path / "nope.jpg", tmp_path / ".." / ".." / "etc" / "no-such-photo.jpg"):
        with pytest.raises(BadImageError, match="file not found"):
            load_image(path)
    with pytest.raises(BadImageError, match="is a folder, not a file"):
        load_image(tmp_path)
    with pytest.raises(BadImageError, match="is a device, not a file"):
        load_image("/dev/zero")


def test_cli_predict_says_what_a_path_is(tmp_path):
    missing, empty = tmp_path / "missing.jpg", tmp_path / "empty"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "read me.txt").write_text("no photo here")
    run = _predict([str(empty), "/dev/zero", str(missing)], cwd=tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert f"champy: skipped {empty / 'notes' / 'read me.txt'} (not an image file)" in run.stderr
    assert [line for line in run.stderr.splitlines() if line.startswith("champy: error: ")] == [
        f"champy: error: {empty}: no photo in this folder",
        "champy: error: /dev/zero: is a device, not a file",
        f"champy: error: {missing}: file not found",
    ]


def test_dataset_download_check_stores_only_whole_photos(matrix, tmp_path):
    """`save_photo` (the download's check) refuses every bad file without leaving anything behind."""
    for index, case in enumerate(matrix):
        target = tmp_path / "dataset" / f"{index}.jpg"
        if case.bad:
            with pytest.raises(BadImageError):
                save_photo(case.path.read_bytes(), target, max_side=256)
            assert not target.exists()
        else:
            width, height = save_photo(case.path.read_bytes(), target, max_side=256)
            stored = Image.open(target)
            assert stored.format == "JPEG" and stored.mode == "RGB" and stored.size == (width, height)
            assert max(stored.size) <= 256
    assert not [p for p in (tmp_path / "dataset").iterdir() if p.name.endswith(".part")]


def _predict(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "CHAMPY_GBIF_API": "http://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-m", "champy", "predict", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_predict_answers_the_good_photos_and_names_each_bad_one(matrix, tmp_path):
    folder = matrix[0].path.parent
    explain = tmp_path / "overlays"
    names = [c.name for c in matrix] + ["missing.jpg", "../../../../../../etc/passwd"]
    run = _predict(["--json", "--top-k", "3", "--explain", str(explain), *names], cwd=folder)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("champy: error: ")]
    bad = [c.name for c in matrix if c.bad] + names[-2:]
    assert len(errors) == len(bad)
    for name, line in zip(bad, errors):
        assert line.startswith(f"champy: error: {name}: "), line
    answers = json.loads(run.stdout)
    assert [a["image"] for a in answers] == [c.name for c in matrix if not c.bad]
    for answer in answers:
        assert answer["verdict"] in ("mushroom", "unknown", "not_a_mushroom") and len(answer["species"]) == 3
    same_photo = [a for a in answers if a["image"] in ("photo.tiff", "..%2F..%2Fetc%2Fpasswd.jpg", "exif_rotated.jpg")]
    assert len({a["species"][0]["name"] for a in same_photo}) == 1
    overlays = sorted(explain.iterdir())
    # an overlay for every photo but those judged "not a mushroom"
    assert len(overlays) == sum(a["verdict"] != "not_a_mushroom" for a in answers) > len(answers) // 2
    assert all(p.suffix == ".png" and p.parent == explain and Image.open(p).size[0] > 0 for p in overlays)
    assert not list(folder.parent.glob("*_gradcam.png")) and not list(folder.rglob("*_gradcam.png"))
