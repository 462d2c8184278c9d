"""Every model file is checked on load (issue 29): a card, ensemble card, safety profile, gate or compiled form with
values that would break answers or pages, or make a dangerous photo look safe, is refused with a reason; the model
is "Not offered" on every page and in the CLI, and every other page and model keeps working."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import every_page_report
from locations import BOLETUS_PHOTO
from markdown_text import shown_text

from champy.errors import ModelLoadError
from champy.inference import load_model
from champy.inference.compiled import CACHE_ENV, cache_dir, load_compiled, model_digest
from champy.inference.gate import gate_file, read_gate
from champy.models.card import read_card
from champy.paths import MODELS_DIR, PROJECT_ROOT

SINGLE = "mobilenet_v2_species"
ENSEMBLE = "champy_ensemble"
BEACON = "![t](http://127.0.0.1:9/beacon.png) [Click to verify your account](http://127.0.0.1:9/x)"


def _card(name: str = SINGLE) -> dict:
    suffix = ".ensemble.json" if name == ENSEMBLE else ".json"
    return json.loads((MODELS_DIR / f"{name}{suffix}").read_text())


def _with(card: dict, path: tuple, value: object) -> dict:
    """A copy of `card` with the value at `path` (keys) replaced."""
    card = json.loads(json.dumps(card))
    place = card
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    return card


CARD_CASES = {
    "temperature_zero": ((SINGLE, ("calibration", "temperature"), 0), "calibration.temperature must be a number"),
    "temperature_nan": ((SINGLE, ("calibration", "temperature"), float("nan")), "calibration.temperature"),
    "temperature_huge": ((SINGLE, ("calibration", "temperature"), 1e308), "calibration.temperature"),
    "temperature_negative": ((SINGLE, ("calibration", "temperature"), -1.0), "calibration.temperature"),
    "other_index_99": ((SINGLE, ("other_index",), 99), "other_index must be a class index below 15"),
    "other_index_text": ((SINGLE, ("other_index",), "14"), "other_index must be a class index"),
    "metrics_empty": ((SINGLE, ("metrics",), {}), "metrics lacks the test figures"),
    "top1_object": ((SINGLE, ("metrics", "test", "top1"), {}), "metrics.test.top1 is not a share"),
    "input_markdown": ((SINGLE, ("input", "size"), BEACON), "input.size must be a whole number"),
    "score_bogus": ((ENSEMBLE, ("open_set", "score"), "bogus"), "open_set.score 'bogus' is not one of"),
    "group_markdown": ((ENSEMBLE, ("cross_source", "groups"), {BEACON: {"photos": 1}}), "not plain group names"),
    "splits_text": ((ENSEMBLE, ("evaluation_over_splits",), {"figures": {"top1": "97 %"}}), "not spreads"),
}


def _profile() -> dict:
    return json.loads((MODELS_DIR / f"{SINGLE}.safety.json").read_text())


def _profile_cases() -> dict[str, tuple[dict, str]]:
    text_answers, empty, nan, short, text_embedding, nested = (_profile() for _ in range(6))
    for row in text_answers["validation"]:
        row["answer"] = str(row["answer"])
    empty["validation"], empty["references"] = [], []
    nan["references"][0]["embedding"][0] = float("nan")
    for ref in short["references"]:
        ref["embedding"] = ref["embedding"][:100]
    text_embedding["references"][0]["embedding"] = [str(x) for x in text_embedding["references"][0]["embedding"]]
    for ref in nested["references"]:
        ref["embedding"] = [ref["embedding"], ref["embedding"]]  # one length, but rows of rows
    return {
        "profile_text_answers": (text_answers, "a validation answer is not a class index"),
        "profile_empty": (empty, "no validation answers"),
        "profile_nan_embedding": (nan, "not a finite number"),
        "profile_short_embeddings": (short, "look-alike and vouch banks hold embeddings of different lengths"),
        "profile_text_embedding": (text_embedding, "not a finite number"),
        "profile_nested_embedding": (nested, "not a finite number"),
    }


def tampered_models(folder: Path) -> dict[str, str]:
    """The shipped models (linked) and tampered copies; returns each copy's name and a part of its reason."""
    folder.mkdir()
    for entry in MODELS_DIR.iterdir():
        os.symlink(entry, folder / entry.name)
    reasons = {}
    for name, ((source, path, value), reason) in CARD_CASES.items():
        card = _with(_card(source), path, value)
        if source == ENSEMBLE:
            (folder / f"{name}.ensemble.json").write_text(json.dumps(card))
        else:
            os.symlink(MODELS_DIR / f"{SINGLE}.h5", folder / f"{name}.h5")
            (folder / f"{name}.json").write_text(json.dumps(card))
        reasons[name] = reason
    for name, (profile, reason) in _profile_cases().items():
        os.symlink(MODELS_DIR / f"{SINGLE}.h5", folder / f"{name}.h5")
        shutil.copy(MODELS_DIR / f"{SINGLE}.json", folder / f"{name}.json")
        os.symlink(MODELS_DIR / f"{SINGLE}.vouch.npz", folder / f"{name}.vouch.npz")
        (folder / f"{name}.safety.json").write_text(json.dumps(profile))
        reasons[name] = reason
    markdown = _with(_card(ENSEMBLE), ("weights", "requested"), BEACON)  # valid: shown, as text,
    markdown["backbone"] = "custom_ensemble"  # where no known licence stands in for it
    (folder / "markdown_weights.ensemble.json").write_text(json.dumps(markdown))
    return reasons


@pytest.mark.parametrize("case", sorted(CARD_CASES))
def test_a_card_value_that_would_break_answers_or_pages_is_refused(tmp_path, case):
    (source, path, value), reason = CARD_CASES[case]
    (tmp_path / "card.json").write_text(json.dumps(_with(_card(source), path, value)))
    with pytest.raises(ModelLoadError, match="invalid model card") as refused:
        read_card(tmp_path / "card.json")
    assert reason in str(refused.value)


def test_a_tampered_gate_is_refused(tmp_path):
    shipped = json.loads(gate_file().read_text())
    cases = {
        "text": ({**shipped, "coef": [str(x) for x in shipped["coef"]]}, "number lists of one length"),
        "short": ({**shipped, "scale": shipped["scale"][:10]}, "number lists of one length"),
        "nan": ({**shipped, "intercept": float("nan")}, "not a finite number"),
        "zero_scale": ({**shipped, "scale": [0.0] * len(shipped["scale"])}, "scales must be above 0"),
        "threshold": ({**shipped, "threshold": 2.0}, "threshold in [0, 1]"),
        "missing": ({key: value for key, value in shipped.items() if key != "mean"}, "not a mushroom gate"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        with pytest.raises(ModelLoadError) as refused:
            read_gate(tmp_path / f"{name}.json")
        assert reason in str(refused.value), name
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(ModelLoadError, match="is a pipe, not a file"):
        read_gate(tmp_path / "pipe.json")
    assert read_gate(gate_file()).coef.shape == (len(shipped["coef"]),)


@pytest.fixture
def compiled_copies(tmp_path, monkeypatch):
    """This machine's compiled forms of two networks, copied into a cache of the test's own."""
    names = (SINGLE, "efficientnet_lite0_species")
    for name in names:
        load_model(name)  # compiled into the machine's cache if it was not yet
    forms = {name: cache_dir() / f"{name}-{model_digest(MODELS_DIR / f'{name}.h5')}.tflite" for name in names}
    own = tmp_path / "compiled"
    own.mkdir()
    for path in forms.values():
        shutil.copy(path, own / path.name)
        shutil.copy(path.with_suffix(".head.npz"), own / path.with_suffix(".head.npz").name)
    monkeypatch.setenv(CACHE_ENV, str(own))
    return {name: own / path.name for name, path in forms.items()}


def test_a_compiled_form_is_read_only_from_its_own_regular_files(compiled_copies, caplog):
    flatbuffer, other = compiled_copies[SINGLE], compiled_copies["efficientnet_lite0_species"]
    name, digest = flatbuffer.stem.rsplit("-", 1)
    assert load_compiled(name, digest, None) is not None
    good = flatbuffer.read_bytes()
    cases = {
        "a pipe": lambda: os.mkfifo(flatbuffer),  # reading it would wait for a writer forever
        "a device": lambda: os.symlink("/dev/zero", flatbuffer),  # reading it would fill the memory
        "another network's flatbuffer": lambda: shutil.copy(other, flatbuffer),
    }
    for case, make in cases.items():
        flatbuffer.unlink()
        make()
        caplog.clear()
        start = time.monotonic()
        assert load_compiled(name, digest, None) is None, case
        assert time.monotonic() - start < 5 and "ignoring the compiled" in caplog.text, case
    flatbuffer.unlink()
    flatbuffer.write_bytes(good)
    for suffix in (".tflite", ".head.npz"):  # the other network's whole form under this one's name
        shutil.copy(other.with_suffix(suffix), flatbuffer.with_suffix(suffix))
    caplog.clear()
    assert load_compiled(name, digest, None) is None and "was written for" in caplog.text


EVERY_PAGE = textwrap.dedent(
    """
    import json, sys
    from streamlit.testing.v1 import AppTest
    from champy.inference import available_models, unavailable_models

    photo = open(sys.argv[2], "rb").read()
    report = {"available": available_models(), "unavailable": unavailable_models(), "pages": {}}
    app = AppTest.from_file(sys.argv[1], default_timeout=300).run()
    app.file_uploader(key="photos").set_value([("cep.jpg", photo, "image/jpeg")]).run()
    report["pages"]["identify"] = {"exception": [str(e.value) for e in app.exception],
                                   "error": [e.value for e in app.error], "captions": [c.value for c in app.caption],
                                   "images": len(app.image)}
    app.switch_page("pages/compare.py").run()
    app.file_uploader(key="compare_photo").set_value(("cep.jpg", photo, "image/jpeg")).run()
    report["pages"]["compare"] = {"exception": [str(e.value) for e in app.exception],
                                  "error": [e.value for e in app.error], "images": len(app.image)}
    app.switch_page("pages/model_cards.py").run()
    app.selectbox(key="card_model").set_value("markdown_weights").run()
    report["pages"]["model_cards"] = {"exception": [str(e.value) for e in app.exception],
                                      "markdown": [m.value for m in app.markdown]}
    app.switch_page("pages/dataset.py").run()
    report["pages"]["dataset"] = {"exception": [str(e.value) for e in app.exception]}
    print(json.dumps(report))
    """
)


def test_tampered_files_leave_every_page_working_and_are_not_offered_anywhere(tmp_path):
    reasons = tampered_models(tmp_path / "models")
    report = every_page_report(EVERY_PAGE, tmp_path / "models", tmp_path)
    assert set(report["unavailable"]) == set(reasons)
    for name, reason in reasons.items():
        assert reason in report["unavailable"][name], (name, report["unavailable"][name])
    assert "markdown_weights" in report["available"]
    pages = report["pages"]
    assert all(not page["exception"] for page in pages.values()), pages
    assert not pages["identify"]["error"] and pages["identify"]["images"] >= 2  # the photo and its Grad-CAM
    offered = [shown_text(c) for c in pages["identify"]["captions"] if c.startswith("Not offered: ")]
    assert len(offered) == len(reasons)
    assert not pages["compare"]["error"] and pages["compare"]["images"] > len(report["available"])
    weights = [m for m in pages["model_cards"]["markdown"] if "Pretrained weights" in m]
    assert len(weights) == 1 and BEACON in shown_text(weights[0])
    assert "](" not in weights[0].replace("\\]\\(", "")  # no link or image the renderer would draw or fetch
    for name in ("temperature_zero", "profile_text_answers", "score_bogus"):
        cli = subprocess.run(
            [sys.executable, "-m", "champy", "predict", str(BOLETUS_PHOTO), "--model", name],
            cwd=PROJECT_ROOT,
            env={**os.environ, "CHAMPY_MODELS_DIR": str(tmp_path / "models"), "PYTHONPATH": str(PROJECT_ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert cli.returncode == 2 and cli.stdout == "" and "Traceback" not in cli.stderr, cli.stderr
        assert cli.stderr.strip().splitlines()[-1].startswith(f"champy: error: not offered: {name}"), cli.stderr
