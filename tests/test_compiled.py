"""The compiled path: LiteRT and NumPy answer as TensorFlow does on every shipped model, `identify` runs with
TensorFlow made impossible to import, and a cache that never serves a stale or broken compiled form, cleans up
after a killed compile, and leaves a model answering in TensorFlow when compiling fails."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from locations import BOLETUS_PHOTO, BOLETUS_SECOND_VIEW, FIXTURE_NOT_FUNGI

from champy.images import load_image
from champy.inference import DEFAULT_MODEL, available_models, identify, load_model
from champy.inference.compiled import (
    CACHE_ENV,
    STALE_PART_S,
    build_digest,
    cache_dir,
    load_compiled,
    model_digest,
)
from champy.inference.keras_model import KerasModel, load_tensorflow_model
from champy.inference.model import ChampyModel, resolve_model_path
from champy.models.card import ENSEMBLE_SUFFIX

PHOTOS = [BOLETUS_PHOTO, BOLETUS_SECOND_VIEW, FIXTURE_NOT_FUNGI / "skimage_astronaut.jpg"]
SINGLE_MODELS = [name for name in available_models() if not resolve_model_path(name).name.endswith(ENSEMBLE_SUFFIX)]
NO_TENSORFLOW = """
import sys

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"{name} may not be imported here")

sys.meta_path.insert(0, NoTensorFlow())
"""
"""Run first in a subprocess: importing TensorFlow or Keras then fails."""


def tensorflow_model(name: str) -> KerasModel:
    """`name` run entirely in TensorFlow (its forward pass not compiled): the reference."""
    model = load_tensorflow_model(name)
    model.compile(enabled=False)
    return model


def litert_model(name: str) -> ChampyModel:
    """`name` as `identify` gets it, compiled first if the cache lacks it: run by LiteRT, never TensorFlow."""
    model = load_model(name)
    assert type(model) is ChampyModel and model.compiled
    return model


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    """A test that compiles does so into its own cache."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "compiled"))
    return tmp_path / "compiled"


@pytest.mark.parametrize("name", SINGLE_MODELS)
def test_litert_answers_as_tensorflow_does(name: str) -> None:
    lite, reference = litert_model(name), tensorflow_model(name)
    pixels = lite.pixels([load_image(photo, draft_size=2 * lite.size) for photo in PHOTOS])
    expected = reference.run(pixels, with_features=True)
    probs, gate_features, cams, embeddings = lite.run(pixels, with_features=True)
    np.testing.assert_allclose(probs, expected[0], atol=1e-4)
    np.testing.assert_allclose(gate_features, expected[1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(cams, expected[2], atol=0.02)
    np.testing.assert_allclose(embeddings, expected[3], atol=1e-4)
    assert cams.max() > 0.99  # a real heat-map, scaled to 1, not zeros on both sides
    chosen = int(expected[0][0].argsort()[-2])  # Grad-CAM of a class that is not the answer
    np.testing.assert_allclose(
        lite.run(pixels[:1], class_index=chosen)[2][0], reference.run(pixels[:1], class_index=chosen)[2][0], atol=0.02
    )
    assert lite.gate_backbone == reference.gate_backbone and lite.count_params() == reference.count_params()


@pytest.mark.parametrize("name", available_models())
def test_identify_answers_the_same_with_litert_and_tensorflow(name: str) -> None:
    lite, reference = load_model(name), load_tensorflow_model(name)
    reference.compile(enabled=False)
    assert lite.compiled and not reference.compiled
    verdicts = set()
    for photo in PHOTOS:
        after, before = identify(photo, lite), identify(photo, reference)
        verdicts.add(before.verdict)
        assert (after.verdict, after.answer, after.risk.level) == (before.verdict, before.answer, before.risk.level)
        assert [c.name for c in after.species] == [c.name for c in before.species]  # the top-k, in order
        for mine, theirs in zip(after.species, before.species):
            assert mine.probability == pytest.approx(theirs.probability, abs=1e-4)
        assert after.mushroom_probability == pytest.approx(before.mushroom_probability, abs=1e-4)
        assert after.risk.reasons == before.risk.reasons
        assert (after.overlay is None) == (before.overlay is None)
        if after.overlay is not None:  # the drawn heat-maps: 8-bit colours within a few levels
            assert np.abs(after.overlay.astype(int) - before.overlay.astype(int)).mean() < 1.0
    assert "not_a_mushroom" in verdicts  # the astronaut is turned away both ways


@pytest.fixture(scope="module")
def current_cache(tmp_path_factory) -> Path:
    """A cache holding the current compiled form of every shipped single model."""
    folder = tmp_path_factory.mktemp("current") / "compiled"
    with mock.patch.dict(os.environ, {CACHE_ENV: str(folder)}):
        for name in SINGLE_MODELS:
            model = load_tensorflow_model(name)
            assert load_compiled(name, model_digest(model.path), model._build_compiled) is not None
    return folder


def test_identify_runs_without_tensorflow_once_compiled(current_cache) -> None:
    script = NO_TENSORFLOW + (
        "import json\n"
        "from champy.inference import identify, load_model\n"
        f"result = identify({str(BOLETUS_PHOTO)!r}, load_model({DEFAULT_MODEL!r}))\n"
        "print(json.dumps({'answer': result.answer, 'risk': result.risk.level, 'overlay': list(result.overlay.shape),\n"
        "    'tensorflow': any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)}))\n"
    )
    env = {**os.environ, CACHE_ENV: str(current_cache)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    answered = json.loads(done.stdout)
    expected = identify(BOLETUS_PHOTO, load_tensorflow_model(DEFAULT_MODEL))
    assert answered == {
        "answer": expected.answer,
        "risk": expected.risk.level,
        "overlay": list(expected.overlay.shape),
        "tensorflow": False,
    }
    blocked = NO_TENSORFLOW + "import tensorflow\n"  # the hook does stop TensorFlow
    refused = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "may not be imported here" in refused.stderr


def test_the_cli_answers_a_folder_without_tensorflow(current_cache, tmp_path) -> None:
    folder = tmp_path / "season"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "cep.jpg").write_bytes(BOLETUS_PHOTO.read_bytes())
    (folder / "a.jpg").write_bytes(BOLETUS_SECOND_VIEW.read_bytes())
    (folder / "notes.txt").write_text("found under beeches")
    script = NO_TENSORFLOW + "import sys, champy.cli\nsys.exit(champy.cli.main(sys.argv[1:]))\n"
    env = {**os.environ, CACHE_ENV: str(current_cache)}
    command = [sys.executable, "-c", script, "predict", str(folder), "--json", "--top-k", "2"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert [a["image"] for a in answers] == [str(folder / "a.jpg"), str(folder / "b" / "cep.jpg")]
    assert all(len(a["species"]) == 2 and a["risk"]["level"] for a in answers)
    assert done.stderr.strip() == f"champy: skipped {folder / 'notes.txt'} (not an image file)"


def test_a_compiled_form_is_built_once_then_read_back(own_cache) -> None:
    model = load_tensorflow_model(SINGLE_MODELS[0])
    digest = model_digest(model.path)
    assert load_compiled(model.name, digest, None) is None  # nothing cached yet
    assert load_compiled(model.name, digest, model._build_compiled) is not None
    flatbuffer = own_cache / f"{model.name}-{digest}.tflite"
    assert flatbuffer.stat().st_size > 1_000_000 and flatbuffer.with_suffix(".head.npz").is_file()
    read = load_compiled(model.name, digest, None)  # read back, not rebuilt
    assert read is not None and read.gate_backbone == model.gate_backbone
    assert read.embedding_size == model.embedding_size and read.head.classes == len(model.labels)


def test_the_cache_key_follows_every_source_file(tmp_path) -> None:
    sources = [tmp_path / "model.h5", tmp_path / "card.json"]
    for source in sources:
        source.write_bytes(b"version 1")
    first = build_digest(sources)
    assert build_digest(sources) == first
    sources[1].write_bytes(b"version 2")
    assert build_digest(sources) != first


def test_a_broken_or_stale_compiled_form_is_rebuilt_and_a_failed_build_leaves_tensorflow(own_cache, caplog) -> None:
    model = load_tensorflow_model(SINGLE_MODELS[0])
    assert load_compiled("probe", "abc", model._build_compiled) is not None
    flatbuffer = own_cache / "probe-abc.tflite"
    good = flatbuffer.read_bytes()
    flatbuffer.write_bytes(b"not a flatbuffer")
    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert load_compiled("probe", "abc", None) is None
        assert "ignoring the compiled" in caplog.text
        assert load_compiled("probe", "abc", model._build_compiled) is not None  # rebuilt over the broken file
    assert flatbuffer.read_bytes() == good
    head = flatbuffer.with_suffix(".head.npz")
    with np.load(head) as stored:
        arrays = {**stored, "gate_sha256": np.asarray("0" * 64)}  # as if the gate's ImageNet weights had changed
    with open(head, "wb") as handle:
        np.savez(handle, **arrays)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert load_compiled("probe", "abc", None) is None
    assert "changed since it was compiled" in caplog.text

    def failing() -> tuple[bytes, dict]:
        raise RuntimeError("converter crashed")

    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert load_compiled("other", "abc", failing) is None
    assert "cannot compile other (it runs in TensorFlow): converter crashed" in caplog.text


def test_an_unwritable_cache_still_gives_the_compiled_pass(tmp_path, monkeypatch, caplog) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "compiled"))
    model = load_tensorflow_model(SINGLE_MODELS[0])
    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert load_compiled(model.name, model_digest(model.path), model._build_compiled) is not None
    assert "cannot cache the compiled" in caplog.text


def test_unfinished_files_of_a_killed_compile_are_removed_on_start(own_cache) -> None:
    own_cache.mkdir(parents=True)
    stale, fresh = own_cache / ".probe-abc.tflite.x1.part", own_cache / ".probe-abc.tflite.x2.part"
    for part in (stale, fresh):
        part.write_bytes(b"half a flatbuffer")
    old = time.time() - STALE_PART_S - 60
    os.utime(stale, (old, old))
    assert cache_dir() == own_cache
    assert load_compiled("probe", "abc", None) is None
    assert not stale.exists() and fresh.exists()  # a file still being written is left alone


def test_the_cli_compiles_ahead_of_time_and_refuses_unknown_models(own_cache) -> None:
    env = {**os.environ, CACHE_ENV: str(own_cache)}
    command = [sys.executable, "-m", "champy", "compile", SINGLE_MODELS[0]]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"compiled {SINGLE_MODELS[0]}")
    assert "compiling it with TensorFlow" in done.stderr  # the one line that says TensorFlow was needed
    assert len(list(own_cache.glob(f"{SINGLE_MODELS[0]}-*.tflite"))) == 1
    unknown = subprocess.run([*command[:-1], "no_such_model"], capture_output=True, text=True, env=env, timeout=300)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no model named 'no_such_model'" in unknown.stderr
