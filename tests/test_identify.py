"""The identification core on real photos: verdicts, top-k, genus roll-up, edibility, calibration, Grad-CAM."""

import numpy as np
import pytest
from helpers import held_out_photos, not_fungi_photos, unseen_species_photos

from champy.images import load_image, load_model_input
from champy.inference import (
    DEFAULT_MODEL,
    available_models,
    identify,
    identify_specimen,
    load_model,
    read_model_card,
)
from champy.inference.gate import gate_features
from champy.inference.keras_model import load_tensorflow_model
from champy.scoring.calibration import apply_temperature

SINGLE_MODELS = [name for name in available_models() if "members" not in read_model_card(name)]
NETWORK = "mobilenet_v2_species"
"""The single network whose one fused pass the lower-level tests check (the ensemble runs its members' passes)."""


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def network():
    return load_model(NETWORK)


def test_default_model_is_shipped_and_loaded_once(model):
    assert available_models()[0] == DEFAULT_MODEL
    assert load_model(DEFAULT_MODEL) is model
    assert all(load_model(member.name) is member for member in model.members)  # members shared, loaded once
    assert NETWORK in SINGLE_MODELS and len(SINGLE_MODELS) == len(available_models()) - 1


def test_held_out_fly_agarics_are_named(model):
    photos = held_out_photos("Amanita muscaria", 12)
    results = [identify(p, model) for p in photos]
    named = [r for r in results if r.verdict == "mushroom" and r.answer == "Amanita muscaria"]
    assert len(named) >= 10, [(r.verdict, r.answer) for r in results]
    top = named[0]
    assert top.species[0].name == "Amanita muscaria" and top.species[0].genus == "Amanita"
    assert top.species[0].edibility == "poisonous"
    assert any("Amanita muscaria" in w and "poisonous" in w for w in top.warnings)
    assert top.genus[0].name == "Amanita"


def test_top_k_order_and_genus_rollup(model):
    result = identify(held_out_photos("Boletus edulis", 1)[0], model, top_k=5)
    probabilities = [c.probability for c in result.species]
    assert len(result.species) == 5 and probabilities == sorted(probabilities, reverse=True)
    full = identify(held_out_photos("Boletus edulis", 1)[0], model, top_k=len(model.labels))
    assert sum(g.probability for g in full.genus) + full.other_probability == pytest.approx(1.0, abs=1e-4)
    boletus = sum(c.probability for c in full.species if c.genus == "Boletus")
    assert next(g.probability for g in full.genus if g.name == "Boletus") == pytest.approx(boletus, abs=1e-6)
    assert "other fungi" not in [c.name for c in full.species]
    confident = identify(held_out_photos("Boletus edulis", 1)[0], model, top_k=5, min_probability=0.05)
    assert all(c.probability >= 0.05 for c in confident.species)
    assert [c.name for c in confident.species] == [c.name for c in result.species if c.probability >= 0.05]


def test_non_mushrooms_are_rejected_but_still_get_best_guesses(model):
    for photo in not_fungi_photos():
        result = identify(photo, model)
        assert result.verdict == "not_a_mushroom", photo.name
        assert result.mushroom_probability < 0.5
        assert len(result.species) == 5


def test_calibration_is_applied(network):
    model = network
    photo = held_out_photos("Amanita vaginata", 1)[0]
    raw, _, _ = model.run(load_model_input(photo, model.size)[None], explain=False)
    calibrated = apply_temperature(raw, model.temperature)[0]
    result = identify(photo, model, top_k=3)
    expected = sorted(np.delete(calibrated, model.other_index), reverse=True)[:3]
    np.testing.assert_allclose([c.probability for c in result.species], expected, atol=1e-5)
    assert model.temperature != 1.0


def test_one_pass_gives_the_forward_pass_probabilities(network):
    model = load_tensorflow_model(network.name)  # the graph's structure; LiteRT's answers: tests/test_compiled.py
    assert model.shares_gate_trunk  # the gate reuses the frozen ImageNet trunk: one forward pass
    pixels = load_model_input(held_out_photos("Neoboletus erythropus", 1)[0], model.size)[None]
    probs, gate_input, cam = model.run(pixels)
    np.testing.assert_allclose(probs, model.forward(pixels), atol=1e-5)
    np.testing.assert_allclose(gate_input, gate_features(pixels, model.gate_backbone), atol=1e-3)
    assert gate_input.shape == (1, 1280) and cam.shape == (1, 7, 7)
    assert cam.min() >= 0.0 and cam.max() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("name", [NETWORK, DEFAULT_MODEL])
def test_gradcam_looks_at_the_mushroom_not_the_frame(name):
    model = load_model(name)
    centred = 0
    photos = held_out_photos("Amanita muscaria", 8)
    for photo in photos:
        _, _, cam = model.run(model.pixels([load_image(photo)]))
        heat = cam[0]
        inside = heat[1:-1, 1:-1].mean()
        border = np.concatenate([heat[0], heat[-1], heat[1:-1, 0], heat[1:-1, -1]]).mean()
        centred += inside > border
    assert centred >= 6, centred


def test_overlay_has_the_photo_size(model):
    photo = held_out_photos("Amanita muscaria", 1)[0]
    result = identify(photo, model)
    assert result.overlay.shape == (result.photo.height, result.photo.width, 3)
    assert result.overlay.dtype == np.uint8
    assert set(result.timings_ms) == {"preprocess", "predict", "gradcam"}


def test_several_photos_of_one_specimen_are_averaged(model):
    photos = held_out_photos("Amanita muscaria", 2)
    both = identify_specimen(photos, model)
    singles = [identify(p, model, top_k=len(model.labels)) for p in photos]
    expected = np.mean([{c.name: c.probability for c in r.species}["Amanita muscaria"] for r in singles])
    assert both.species[0].name == "Amanita muscaria"
    assert both.species[0].probability == pytest.approx(expected, abs=1e-5)
    assert len(both.overlays) == 2


def test_unknown_when_no_species_is_confident(model):
    photos = unseen_species_photos(30)
    assert len(photos) == 30
    results = [identify(p, model) for p in photos]
    flagged = [r.verdict != "mushroom" for r in results]
    assert np.mean(flagged) >= 0.5  # species never seen in training: most are not named
    answered_unknown = next(r for r in results if r.verdict == "unknown")
    assert answered_unknown.species and answered_unknown.answer != answered_unknown.species[0].name


@pytest.mark.parametrize("name", SINGLE_MODELS)
def test_every_shipped_network_answers_in_one_pass(name):
    shipped, graph = load_model(name), load_tensorflow_model(name)
    assert graph.shares_gate_trunk and shipped.gate_backbone == shipped.backbone
    pixels = load_model_input(held_out_photos("Amanita muscaria", 1)[0], shipped.size)[None]
    probs, _, _ = shipped.run(pixels)
    np.testing.assert_allclose(probs, graph.forward(pixels), atol=1e-4)  # LiteRT's pass against the Keras graph
    fly_agarics = [identify(p, shipped).answer for p in held_out_photos("Amanita muscaria", 5)]
    assert fly_agarics.count("Amanita muscaria") >= 4, fly_agarics
    assert all(identify(p, shipped).verdict == "not_a_mushroom" for p in not_fungi_photos()[:6])
