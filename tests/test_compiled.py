"""The forward pass compiled for the CPU: the same answers as TensorFlow's, a cache that never serves a stale or
broken flatbuffer, and a model that still answers when compiling fails."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from locations import BOLETUS_PHOTO, BOLETUS_SECOND_VIEW, FIXTURE_NOT_FUNGI

from champy.images import load_image
from champy.inference import DEFAULT_MODEL, available_models, identify, load_model
from champy.inference.compiled import CACHE_ENV, build_digest, load_compiled
from champy.inference.ensemble import EnsembleModel

PHOTOS = [BOLETUS_PHOTO, BOLETUS_SECOND_VIEW, FIXTURE_NOT_FUNGI / "skimage_astronaut.jpg"]
SINGLE_MODELS = [name for name in available_models() if not isinstance(load_model(name), EnsembleModel)]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test compiles into its own cache, and leaves the shared models running as they were."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "compiled"))
    before = {name: load_model(name).compiled for name in SINGLE_MODELS}
    yield tmp_path / "compiled"
    for name, compiled in before.items():
        load_model(name).compile(enabled=compiled, build=False)


@pytest.mark.parametrize("name", SINGLE_MODELS)
def test_the_compiled_pass_answers_as_tensorflow_does(name: str) -> None:
    model = load_model(name)
    pixels = model.pixels([load_image(photo, draft_size=2 * model.size) for photo in PHOTOS])
    model.compile(enabled=False)
    expected = model.run(pixels, with_features=True)
    assert model.compile() and model.compiled
    probs, gate_features, cams, embeddings = model.run(pixels, with_features=True)
    np.testing.assert_allclose(probs, expected[0], atol=1e-4)
    np.testing.assert_allclose(gate_features, expected[1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(cams, expected[2], atol=0.02)
    np.testing.assert_allclose(embeddings, expected[3], atol=1e-4)
    chosen = int(expected[0][0].argsort()[-2])  # Grad-CAM of a class that is not the answer
    compiled_cam = model.run(pixels[:1], class_index=chosen)[2][0]
    model.compile(enabled=False)
    np.testing.assert_allclose(compiled_cam, model.run(pixels[:1], class_index=chosen)[2][0], atol=0.02)


def test_the_default_ensemble_gives_the_same_identifications_compiled() -> None:
    ensemble = load_model(DEFAULT_MODEL)
    ensemble.compile(enabled=False)
    expected = [identify(photo, ensemble) for photo in PHOTOS]
    assert ensemble.compile() and ensemble.compiled
    for photo, before in zip(PHOTOS, expected):
        after = identify(photo, ensemble)
        assert (after.verdict, after.answer, after.risk.level) == (before.verdict, before.answer, before.risk.level)
        assert [c.name for c in after.species] == [c.name for c in before.species]
        assert after.species[0].probability == pytest.approx(before.species[0].probability, abs=1e-4)
        assert after.mushroom_probability == pytest.approx(before.mushroom_probability, abs=1e-4)
    assert "not_a_mushroom" in {result.verdict for result in expected}  # the astronaut is turned away both ways


def test_a_compiled_pass_is_cached_and_reused_by_a_fresh_load(own_cache) -> None:
    model = load_model(SINGLE_MODELS[0])
    model.compile(enabled=False)
    assert not model.compile(build=False)  # nothing cached yet
    assert model.compile()
    cached = list(own_cache.glob(f"{model.name}-*.tflite"))
    assert len(cached) == 1 and cached[0].stat().st_size > 1_000_000
    model.compile(enabled=False)
    assert model.compile(build=False)  # read back, not rebuilt


def test_the_cache_key_follows_every_source_file(tmp_path) -> None:
    sources = [tmp_path / "model.h5", tmp_path / "card.json"]
    for source in sources:
        source.write_bytes(b"version 1")
    first = build_digest(sources)
    assert build_digest(sources) == first
    sources[1].write_bytes(b"version 2")
    assert build_digest(sources) != first


def test_a_broken_cached_flatbuffer_is_rebuilt_and_a_failed_build_leaves_tensorflow(own_cache, caplog) -> None:
    model = load_model(SINGLE_MODELS[0])
    flatbuffer = [b""]

    def build() -> bytes:
        from champy.inference.compiled import compile_forward

        flatbuffer[0] = compile_forward(model._forward, model.keras_model)
        return flatbuffer[0]

    assert load_compiled("probe", "abc", build) is not None
    (own_cache / "probe-abc.tflite").write_bytes(b"not a flatbuffer")
    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert load_compiled("probe", "abc", None) is None
        assert "ignoring the compiled" in caplog.text
        assert load_compiled("probe", "abc", build) is not None  # rebuilt over the broken file
    assert (own_cache / "probe-abc.tflite").read_bytes() == flatbuffer[0]

    def failing() -> bytes:
        raise RuntimeError("converter crashed")

    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert load_compiled("other", "abc", failing) is None
    assert "cannot compile other (it runs in TensorFlow): converter crashed" in caplog.text


def test_an_unwritable_cache_still_gives_the_compiled_pass(tmp_path, monkeypatch, caplog) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv(CACHE_ENV, str(blocker / "compiled"))
    model = load_model(SINGLE_MODELS[0])
    model.compile(enabled=False)
    with caplog.at_level(logging.WARNING, logger="champy.inference.compiled"):
        assert model.compile()
    assert "cannot cache the compiled" in caplog.text


def test_the_cli_compiles_ahead_of_time_and_refuses_unknown_models(own_cache) -> None:
    env = {**os.environ, CACHE_ENV: str(own_cache)}
    command = [sys.executable, "-m", "champy", "compile", SINGLE_MODELS[0]]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"compiled {SINGLE_MODELS[0]}")
    assert len(list(own_cache.glob(f"{SINGLE_MODELS[0]}-*.tflite"))) == 1
    unknown = subprocess.run([*command[:-1], "no_such_model"], capture_output=True, text=True, env=env, timeout=300)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "no model named 'no_such_model'" in unknown.stderr
