"""Safe model loading: only .h5/.keras, no code layers, clear errors for damaged files, the others keep working."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers import every_page_report
from locations import BOLETUS_PHOTO
from markdown_text import shown_text

from champy.errors import ModelLoadError
from champy.models.storage import load_keras_model
from champy.paths import IMAGENET_WEIGHTS_DIR, MODELS_DIR, PROJECT_ROOT

DEFAULT = MODELS_DIR / "mobilenet_v2_species.h5"
PHOTO = BOLETUS_PHOTO


def _tiny_model(with_lambda: bool) -> keras.Model:
    inputs = keras.Input((4,))
    hidden = keras.layers.Lambda(lambda x: x * 2.0)(inputs) if with_lambda else inputs
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))


def test_only_model_files_are_accepted(tmp_path):
    for name in ("model.pkl", "model.py", "model.pb", "model.json", "model"):
        (tmp_path / name).write_bytes(b"\x80\x04K\x01.")
        with pytest.raises(ModelLoadError, match="only .h5 and .keras"):
            load_keras_model(tmp_path / name)
    with pytest.raises(ModelLoadError, match="holds weights only"):
        load_keras_model(IMAGENET_WEIGHTS_DIR / "mobilenet_v2_1.0_224_imagenet_notop.weights.h5")


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_lambda_layers_are_refused(tmp_path, suffix):
    path = tmp_path / f"with_code{suffix}"
    _tiny_model(with_lambda=True).save(path)
    with pytest.raises(ModelLoadError, match="Lambda"):
        load_keras_model(path)
    plain = tmp_path / f"plain{suffix}"
    _tiny_model(with_lambda=False).save(plain)
    assert load_keras_model(plain).predict(np.ones((1, 4)), verbose=0).shape == (1, 2)


def test_damaged_model_files_give_a_clear_error(tmp_path):
    shipped = DEFAULT.read_bytes()
    damaged = {
        "truncated.h5": shipped[: len(shipped) // 2],
        "header_only.h5": shipped[:4096],
        "random.h5": np.random.default_rng(0).bytes(50_000),
        "empty.h5": b"",
        "text.keras": b"not a model\n",
    }
    for name, data in damaged.items():
        (tmp_path / name).write_bytes(data)
    broken_zip = tmp_path / "broken_zip.keras"
    with zipfile.ZipFile(broken_zip, "w") as archive:
        archive.writestr("config.json", "{not json")
    for path in [*(tmp_path / name for name in damaged), broken_zip]:
        with pytest.raises(ModelLoadError) as caught:
            load_keras_model(path)
        assert str(caught.value).startswith(path.name) and "\n" not in str(caught.value), str(caught.value)


def _models_dir_with_a_broken_model(folder: Path) -> Path:
    """A models folder: the shipped model, a truncated copy, an intact HDF5 file that is no Keras model
    (each with a card), and a card with no model."""
    folder.mkdir()
    for name in ("mobilenet_v2_species.h5", "mobilenet_v2_species.json", "mushroom_gate.json"):
        os.symlink(MODELS_DIR / name, folder / name)
    os.symlink(IMAGENET_WEIGHTS_DIR, folder / "imagenet")
    (folder / "broken.h5").write_bytes(DEFAULT.read_bytes()[:3_000_000])
    shutil.copy(MODELS_DIR / "mobilenet_v2_species.json", folder / "broken.json")
    with h5py.File(folder / "unloadable.h5", "w") as handle:
        handle.attrs["model_config"] = json.dumps({"class_name": "NoSuchModel", "config": {}})
    shutil.copy(MODELS_DIR / "mobilenet_v2_species.json", folder / "unloadable.json")
    shutil.copy(MODELS_DIR / "mobilenet_v2_species.json", folder / "orphan_card.json")
    return folder


LIBRARY_AND_APP = textwrap.dedent(
    """
    import json, sys
    from streamlit.testing.v1 import AppTest
    from champy.errors import ModelLoadError
    from champy.inference import available_models, identify, load_model

    report = {"available": available_models(), "errors": {}}
    for name in ("broken", "unloadable", "../../etc/passwd", "orphan_card"):
        try:
            load_model(name)
        except ModelLoadError as exc:
            report["errors"][name] = str(exc)
    report["default_answer"] = identify(sys.argv[2], load_model("mobilenet_v2_species"), explain=False).verdict

    photo = open(sys.argv[2], "rb").read()
    app = AppTest.from_file(sys.argv[1], default_timeout=180).run()
    for model in ("unloadable", "mobilenet_v2_species"):
        app.selectbox(key="model").set_value(model)
        app.file_uploader(key="photos").set_value([("fly agaric.jpg", photo, "image/jpeg")])
        app.run()
        report[model] = {"exception": [str(e.value) for e in app.exception], "error": [e.value for e in app.error],
                         "cards": [e.value for e in app.markdown if 'data-testid="champyAnswerCard"' in e.value]}
    print(json.dumps(report))
    """
)


@pytest.mark.slow
def test_a_broken_model_leaves_the_others_serving(tmp_path):
    models = _models_dir_with_a_broken_model(tmp_path / "models")
    report = every_page_report(LIBRARY_AND_APP, models, tmp_path)
    # the truncated file is not offered; the intact HDF5 file fails only when loaded
    assert report["available"] == ["mobilenet_v2_species", "unloadable"]
    assert report["errors"]["broken"].startswith("not offered: broken.h5: ")
    assert report["errors"]["unloadable"].startswith("unloadable.h5: cannot load model")
    assert "no model named '../../etc/passwd'" in report["errors"]["../../etc/passwd"]
    assert "no model named 'orphan_card'" in report["errors"]["orphan_card"]
    assert report["default_answer"] == "mushroom"
    assert not report["unloadable"]["exception"] and len(report["unloadable"]["error"]) == 1
    assert shown_text(report["unloadable"]["error"][0]).startswith("Cannot identify this upload: unloadable.h5: ")
    served = report["mobilenet_v2_species"]
    assert not served["exception"] and not [e for e in served["error"] if e.startswith("Cannot identify")]
    assert len(served["cards"]) == 1 and "Boletus edulis" in served["cards"][0]

    cli = subprocess.run(
        [sys.executable, "-m", "champy", "predict", "--model", "broken", str(PHOTO)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CHAMPY_MODELS_DIR": str(models), "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert cli.stderr.strip().splitlines() == [f"champy: error: {report['errors']['broken']}"]
