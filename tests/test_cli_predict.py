"""`python -m champy predict` as a user runs it: JSON schema, Grad-CAM files, bad images, exit codes."""

import json
import os
import resource
import shutil
import subprocess
import sys

import pytest
from crafted_photos import chunk_stuffed_png, scan_bomb_jpeg
from helpers import held_out_photos, not_fungi_photos
from locations import BOLETUS_PHOTO
from PIL import Image

KEYS = {"image", "model", "verdict", "mushroom_probability", "species", "genus", "warnings", "timings_ms"}


def run_cli(*args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "champy", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    data = BOLETUS_PHOTO.read_bytes()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.jpg").write_text("<html><body>not a photo</body></html>")
    bomb = folder / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)
    return folder


def test_json_for_good_and_bad_photos(bad_files, tmp_path):
    good = held_out_photos("Amanita muscaria", 1)[0]
    cat = str(not_fungi_photos()[0])
    bad = [str(bad_files / n) for n in ("empty.jpg", "truncated.jpg", "notes.jpg", "bomb.png")] + [
        str(bad_files / "missing.jpg")
    ]
    result = run_cli("predict", good, *bad, cat, "--json", "--top-k", "3", "--explain", str(tmp_path / "cams"))
    assert result.returncode == 2
    errors = [line for line in result.stderr.strip().splitlines() if "compiling it with TensorFlow" not in line]
    assert len(errors) == 5 and all(line.startswith("champy: error: ") for line in errors), result.stderr
    assert "Traceback" not in result.stderr
    for word in ("empty", "truncated", "not an image", "too large", "not found"):
        assert any(word in line for line in errors), word
    answers = json.loads(result.stdout)
    assert [a["image"] for a in answers] == [good, cat]
    for answer in answers:
        assert set(answer) >= KEYS
        assert len(answer["species"]) == 3
        assert set(answer["species"][0]) == {"name", "genus", "probability", "edibility"}
        assert set(answer["timings_ms"]) == {"preprocess", "predict", "gradcam"}
    assert answers[0]["verdict"] == "mushroom" and answers[0]["species"][0]["name"] == "Amanita muscaria"
    assert answers[0]["species"][0]["edibility"] == "poisonous" and answers[0]["warnings"]
    assert answers[1]["verdict"] == "not_a_mushroom"
    overlays = sorted((tmp_path / "cams").glob("*.png"))
    assert len(overlays) == 1  # the cat, judged not a mushroom, gets no Grad-CAM
    assert answers[0]["gradcam_overlay"] == str(overlays[0]) and "gradcam_overlay" not in answers[1]
    assert Image.open(overlays[0]).size == Image.open(good).size


def test_readable_table_with_disclaimer():
    result = run_cli("predict", str(BOLETUS_PHOTO))
    assert result.returncode == 0
    assert "Boletus edulis" in result.stdout and "genus:" in result.stdout
    assert "Never eat" in result.stdout or "never eat" in result.stdout


def test_unknown_model_is_a_clear_error():
    result = run_cli("predict", str(BOLETUS_PHOTO), "--model", "no_such_model")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("champy: error: no model named 'no_such_model'")


def test_an_empty_argument_gets_a_clear_message():
    result = run_cli("predict", "")
    assert result.returncode == 2
    assert result.stderr == "champy: error: an empty argument: name a photo file or a folder of photos\n"


def test_a_folder_without_photos_is_refused_with_what_was_skipped(tmp_path):
    (tmp_path / "notes.txt").write_text("no photo here")
    result = run_cli("predict", str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"champy: skipped {tmp_path / 'notes.txt'} (not an image file)",
        f"champy: error: no photo to identify in {tmp_path}",
    ]


def test_a_refused_folder_name_is_escaped_once(tmp_path):
    folder = tmp_path / "two\nlines"
    folder.mkdir()
    result = run_cli("predict", str(folder))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"champy: error: no photo to identify in {tmp_path}/two\\nlines"]


def test_spoofing_names_print_escaped_and_crafted_photos_are_refused_without_decoding(tmp_path):
    """A name with a newline, a forged answer line and the terminal's conceal escape prints as one escaped line;
    a scan-bomb JPEG and a chunk-stuffed PNG are refused at once (decoded, they cost minutes of CPU)."""
    forged = "virosa.jpg\nLOW RISK · Cantharellus cibarius\x1b[8m"
    shutil.copy(BOLETUS_PHOTO, tmp_path / forged)
    (tmp_path / "bomb.jpg").write_bytes(scan_bomb_jpeg())
    (tmp_path / "stuffed.png").write_bytes(chunk_stuffed_png())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_cli("predict", str(tmp_path / forged), str(tmp_path / "bomb.jpg"), str(tmp_path / "stuffed.png"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    shown = str(tmp_path / "virosa.jpg") + "\\nLOW RISK · Cantharellus cibarius\\x1b[8m: "
    answer_lines = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert answer_lines[0].startswith(shown) and "RISK ·" in answer_lines[0]
    assert not any(line.startswith("LOW RISK") for line in result.stdout.splitlines())
    bomb, stuffed = result.stderr.strip().splitlines()[-2:]
    assert bomb == (
        f"champy: error: {tmp_path / 'bomb.jpg'}: refused without decoding: a JPEG of more than 32 scans, far beyond "
        "what a camera writes"
    )
    assert stuffed.startswith(f"champy: error: {tmp_path / 'stuffed.png'}: refused without decoding: a PNG of more")
    assert stuffed.endswith("chunks, far beyond what a camera or editor writes")
    cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert cpu_s < 30  # loading the ensemble and answering the photo; decoding the bomb alone takes minutes
