"""The ensemble default: its card, its fused answer, Grad-CAM of that answer, its risk, and how it is fitted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from helpers import held_out_photos, shared_photos, unseen_species_photos

from champy.data.labelled import load_labelled
from champy.evaluation.photos import leaving_out, siblings
from champy.images import load_image
from champy.inference import DEFAULT_MODEL, available_models, identify, load_model, read_model_card
from champy.inference.ensemble import EnsembleModel, fuse
from champy.models.card import ENSEMBLE_SUFFIX
from champy.paths import DATA_DIR, MODELS_DIR, PROJECT_ROOT
from champy.safety import LEVELS, Risk, assess_risk
from champy.safety.risk import member_dangers, with_member_dangers
from champy.scoring.calibration import apply_temperature
from champy.scoring.openset import members_margin, open_set_score
from champy.training.ensemble_fit import select_members

CARD = read_model_card(DEFAULT_MODEL)
REFERENCES = DATA_DIR / "reference_photos"


@pytest.fixture(scope="module")
def ensemble() -> EnsembleModel:
    return load_model(DEFAULT_MODEL)


def test_the_default_is_the_shipped_ensemble_and_its_card_says_how_it_was_chosen(ensemble):
    assert isinstance(ensemble, EnsembleModel) and available_models()[0] == DEFAULT_MODEL
    assert (MODELS_DIR / f"{DEFAULT_MODEL}{ENSEMBLE_SUFFIX}").is_file()
    weights = [entry["weight"] for entry in CARD["members"]]
    assert len(weights) >= 2 and sum(weights) == pytest.approx(1.0, abs=1e-3)
    for entry, member in zip(CARD["members"], ensemble.members):
        assert entry["model"] == member.name and entry["created"] == member.card["created"]
        assert [label["name"] for label in member.labels] == [label["name"] for label in CARD["labels"]]
    selection = CARD["training"]["selection"]
    assert selection["fitted_on"].startswith("validation split")
    kept = selection["steps"][: selection["steps_kept"]]
    assert min(step["val_nll"] for step in selection["steps"]) == kept[-1]["val_nll"]
    for entry in CARD["members"]:
        assert [step["added"] for step in kept].count(entry["model"]) == round(entry["weight"] * len(kept))
    assert CARD["gate_member"] in [entry["model"] for entry in CARD["members"]]
    assert CARD["calibration"]["fitted_on"].startswith("validation split")
    assert CARD["calibration"]["test_ece_after"] <= 0.065  # measured 0.059 (goal 0.03, not met; 0.047 before issue 25)
    compared = CARD["open_set"]["compared"]  # the score that flags the most unseen validation species is kept
    assert CARD["open_set"]["score"] == max(compared, key=lambda score: compared[score]["val_unseen_species_flagged"])


def test_fused_probabilities_are_the_weighted_mean_of_the_members_calibrated_ones(ensemble):
    photos = [load_image(path) for path in held_out_photos("Boletus edulis", 2) + unseen_species_photos(1)]
    pixels = ensemble.pixels(photos)
    assert sorted(pixels) == sorted({member.size for member in ensemble.members})
    out = ensemble.outputs(pixels, explain=False)
    expected = sum(
        weight * apply_temperature(member.run(pixels[member.size], explain=False)[0], member.temperature)
        for weight, member in zip(ensemble.weights, ensemble.members)
    )
    np.testing.assert_allclose(out.probs, expected, atol=1e-5)
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0, atol=1e-5)
    assert out.members.shape == (len(ensemble.members), 3, len(ensemble.labels))
    joint = np.linalg.norm(out.embeddings, axis=1)
    np.testing.assert_allclose(joint, 1.0, atol=1e-4)  # sqrt-weighted unit embeddings side by side


def test_identify_answers_with_the_fused_and_recalibrated_probabilities(ensemble):
    path = held_out_photos("Amanita muscaria", 1)[0]
    result = identify(path, ensemble, top_k=len(ensemble.labels))
    pixels = ensemble.pixels([load_image(path, draft_size=2 * ensemble.size)])
    probs = apply_temperature(ensemble.outputs(pixels, explain=False).probs, ensemble.temperature)[0]
    top = int(np.argmax(np.delete(probs, ensemble.other_index)))
    assert result.model == DEFAULT_MODEL and result.species[0].name == CARD["labels"][top]["name"]
    assert result.species[0].probability == pytest.approx(float(probs[top]), abs=1e-4)
    assert result.verdict == "mushroom" and result.answer == "Amanita muscaria"
    assert result.risk.level == "deadly"  # every Amanita answer is deadly-risk
    assert result.overlay is not None and result.overlay.shape[:2] == result.photo.size[::-1]


def test_gradcam_explains_the_ensembles_answer_not_the_drawing_members(ensemble):
    paths = held_out_photos("Boletus edulis", 1) + unseen_species_photos(16)
    pixels = ensemble.pixels([load_image(path) for path in paths])
    out = ensemble.outputs(pixels)
    explainer = ensemble.explainer
    assert explainer.name == CARD["members"][int(np.argmax([m["weight"] for m in CARD["members"]]))]["model"]
    alone = explainer.run(pixels[explainer.size], explain=False)[0].argmax(axis=1)
    answers = out.probs.argmax(axis=1)
    assert (alone != answers).any()  # a photo where the drawing member alone would answer something else
    for row in [0, *np.flatnonzero(alone != answers)]:
        answer = answers[row]
        own = explainer.run(pixels[explainer.size][row : row + 1], class_index=int(answer))[2][0]
        np.testing.assert_allclose(out.cams[row], own, atol=1e-4)


def test_members_margin_flags_a_photo_one_member_doubts():
    fused = np.array([[0.6, 0.1, 0.3]])
    members = np.array([[[0.8, 0.1, 0.1]], [[0.4, 0.1, 0.5]]])  # the second member puts 0.5 on "other"
    assert members_margin(fused, members, other_index=2)[0] == pytest.approx(0.4 - 0.5)
    assert open_set_score(fused, 2, "members_margin", members)[0] == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="member probabilities"):
        open_set_score(fused, 2, "members_margin")


def test_selection_prefers_the_informative_member_and_caps_the_members():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 400)
    sharp = np.full((400, 5), 0.05)
    sharp[np.arange(400), labels] = 0.8
    noisy = [rng.dirichlet(np.ones(5), 400) for _ in range(3)]
    selection = select_members({"sharp": sharp, "a": noisy[0], "b": noisy[1], "c": noisy[2]}, labels, 10, 2)
    assert list(selection.weights)[0] == "sharp" and selection.weights["sharp"] >= 0.7
    assert len(selection.weights) <= 2 and sum(selection.weights.values()) == pytest.approx(1.0)
    assert [loss for _, loss in selection.steps][0] == pytest.approx(-np.log(0.8), abs=1e-5)


def test_fuse_normalises_the_weights():
    a, b = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    np.testing.assert_allclose(fuse([a, b], [3, 1]), [[0.75, 0.25]])


def _own_and_members(ensemble, path: str, verdict: str) -> tuple[Risk, list[Risk]]:
    """The fused answer's risk alone, and what each member finds in its own answer (all its routes without a
    confident identification, its probability and look-alike routes with one)."""
    out = ensemble.outputs(ensemble.pixels([load_image(path, draft_size=2 * ensemble.size)]), explain=False)
    probs = apply_temperature(out.probs, ensemble.temperature)[0]
    alone = assess_risk(probs, ensemble.labels, ensemble.other_index, verdict, out.embeddings, ensemble.safety)
    members = [
        member.risk(calibrated.mean(axis=0), verdict, part)
        if verdict != "mushroom"
        else member_dangers(calibrated.mean(axis=0), member.labels, member.other_index, part.embeddings, member.safety)
        for member, calibrated, part in zip(ensemble.members, out.members, out.parts)
    ]
    return alone, members


def test_a_member_danger_raises_the_ensembles_risk(ensemble):
    quiet = Risk("uncertain", 0.0, 0.0, ["No confident identification: treat it as unknown."])
    member = Risk("deadly", 0.2, 0.2, ["The model gives the deadly Amanita virosa 20 %."], ["Amanita virosa"])
    raised = with_member_dangers(quiet, {"some_member": member})
    assert raised.level == "deadly" and raised.dangerous_species == ["Amanita virosa"]
    assert raised.reasons == ["The model gives the deadly Amanita virosa 20 %. (member some_member)"]
    assert with_member_dangers(quiet, {"m": quiet}) is quiet

    refs = load_labelled(REFERENCES, "species")
    false_morels = sorted(refs.loc[refs["species"] == "Gyromitra esculenta", "path"])
    raised_by_members = 0
    for path in false_morels:  # a deadly species no model knows: the ensemble cannot name it
        with leaving_out(ensemble, siblings(refs, path, "author")):
            result = identify(path, ensemble, explain=False)
            alone, members = _own_and_members(ensemble, path, result.verdict)
        assert result.verdict != "mushroom"
        most_severe = min([alone.level] + [m.level for m in members], key=LEVELS.index)
        assert result.risk.level == most_severe, path
        raised_by_members += LEVELS.index(result.risk.level) < LEVELS.index(alone.level)
    assert raised_by_members >= 1  # measured: the fused answer alone left all three "uncertain"


def test_a_member_danger_raises_a_confident_answer_too(ensemble):
    """A confident fused answer is still raised by a member's probability or look-alike route on its own answer,
    never by its other routes; whether an answer without danger is low stays the fused answer's judgement (and its
    networks' agreement)."""
    raised = 0
    for path in held_out_photos("Boletus edulis", 40):
        result = identify(path, ensemble, explain=False)
        if result.verdict != "mushroom":
            continue
        alone, members = _own_and_members(ensemble, path, result.verdict)
        dangers = [m.level for m in members if m.level in ("deadly", "poisonous")]
        most_severe = min([alone.level, *dangers], key=LEVELS.index)
        assert result.risk.level == most_severe or (alone.level == "low" and result.risk.level == "uncertain"), path
        if dangers and LEVELS.index(most_severe) < LEVELS.index(alone.level):
            raised += 1
            assert any(reason.endswith(")") and "(member " in reason for reason in result.risk.reasons), path
        if not dangers:  # no member found a danger: none of them is named
            assert not any("(member " in reason for reason in result.risk.reasons), path
    assert raised >= 1  # measured: members raise several confident cep answers among these 40 photos


MENU_AFTER_CHANGES = """
import json, os, sys, time
from pathlib import Path
from champy.inference import available_models, unavailable_models
folder, member = Path(sys.argv[1]), sys.argv[2]
menus = [[available_models(), unavailable_models()]]
card = folder / f"{member}.json"
original = card.read_text()
time.sleep(0.01)
card.write_text(original.replace(json.loads(original)["created"], "2020-01-01T00:00:00+00:00"))
menus.append([available_models(), unavailable_models()])
card.write_text(original)
os.utime(card, ns=(time.time_ns(), time.time_ns()))
os.remove(folder / f"{member}.h5")
menus.append([available_models(), unavailable_models()])
print(json.dumps(menus))
"""


def test_a_retrained_or_missing_member_takes_the_ensemble_off_the_menu_at_once(tmp_path):
    """One server process: the menu follows the members' files (the ensemble's check is not cached on its card)."""
    folder = tmp_path / "models"
    folder.mkdir()
    for entry in CARD["members"]:
        for suffix in (".h5", ".json"):
            shutil.copy(MODELS_DIR / f"{entry['model']}{suffix}", folder / f"{entry['model']}{suffix}")
    shutil.copy(MODELS_DIR / f"{DEFAULT_MODEL}{ENSEMBLE_SUFFIX}", folder / f"{DEFAULT_MODEL}{ENSEMBLE_SUFFIX}")
    member = CARD["members"][1]["model"]
    env = {"CHAMPY_MODELS_DIR": str(folder), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", MENU_AFTER_CHANGES, str(folder), member],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (first, _), (retrained, why_retrained), (missing, why_missing) = json.loads(run.stdout.splitlines()[-1])
    assert first[0] == DEFAULT_MODEL and len(first) == len(CARD["members"]) + 1
    assert DEFAULT_MODEL not in retrained and member in retrained
    assert f"member {member} was retrained after the ensemble was fitted" in why_retrained[DEFAULT_MODEL]
    assert DEFAULT_MODEL not in missing and f"member {member}: missing" in why_missing[DEFAULT_MODEL]


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([{"model": "../mobilenet_v2_species", "weight": 1.0}], "must be named by a model name"),
        ([{"model": "mobilenet_v2_species.h5", "weight": 1.0}], "must be named by a model name"),
        ([{"model": "mobilenet_v2_species", "weight": 0}], "needs a weight in (0, 1]"),
        ([], "lists no members"),
    ],
)
def test_an_ensemble_card_names_members_by_model_name_with_positive_weights(tmp_path, members, reason):
    folder = tmp_path / "models"
    folder.mkdir()
    card = json.loads(json.dumps(CARD))
    card["members"] = members
    (folder / f"odd{ENSEMBLE_SUFFIX}").write_text(json.dumps(card), encoding="utf-8")
    script = "import json; from champy.inference import unavailable_models; print(json.dumps(unavailable_models()))"
    env = {"CHAMPY_MODELS_DIR": str(folder), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert reason in json.loads(run.stdout.splitlines()[-1])["odd"]


def test_fit_ensemble_reproduces_the_shipped_card(tmp_path):
    photos = shared_photos()
    out = tmp_path / f"again{ENSEMBLE_SUFFIX}"
    candidates = CARD["training"]["selection"]["candidates"]
    run = subprocess.run(
        [sys.executable, "-m", "champy", "fit-ensemble", "--photos", str(photos), "--out", str(out), "--name", "again"]
        + ["--candidates", *candidates, "--max-known-flagged", str(CARD["training"]["config"]["max_known_flagged"])],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    again = json.loads(out.read_text(encoding="utf-8"))
    assert again["members"] == CARD["members"]
    assert again["metrics"]["test_known_species_only"] == pytest.approx(CARD["metrics"]["test_known_species_only"])
    assert again["calibration"]["temperature"] == pytest.approx(CARD["calibration"]["temperature"], rel=1e-3)
    assert again["open_set"]["unknown_threshold"] == pytest.approx(CARD["open_set"]["unknown_threshold"], abs=1e-3)
    assert "top-1" in run.stdout and "unseen species flagged" in run.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--candidates", "mobilenet_v2_species"], "at least two candidate models"),
        (["--max-known-flagged", "5"], "--max-known-flagged must be a share"),
    ],
)
def test_fit_ensemble_refuses_bad_settings(tmp_path, arguments, message):
    run = subprocess.run(
        [sys.executable, "-m", "champy", "fit-ensemble", *arguments]
        + ["--photos", str(tmp_path), "--out", str(tmp_path / f"x{ENSEMBLE_SUFFIX}")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr


CONCURRENT_LOADS = """
import json, threading
from champy.inference import load_model
loaded = {}
names = ["champy_ensemble", "mobilenet_v2_species", "efficientnet_lite2_species", "efficientnet_lite0_species"]
threads = [threading.Thread(target=lambda n=n: loaded.update({n: load_model(n)})) for n in names]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print(json.dumps({member.name: member is loaded[member.name] for member in loaded["champy_ensemble"].members}))
"""


def test_concurrent_loads_share_one_copy_of_each_member():
    """The app's warm-up thread loads the ensemble while a page loads its members: one copy of each in memory."""
    run = subprocess.run(
        [sys.executable, "-c", CONCURRENT_LOADS], capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT
    )
    assert run.returncode == 0, run.stderr[-2000:]
    shared = json.loads(run.stdout.splitlines()[-1])
    assert set(shared) == {entry["model"] for entry in CARD["members"]} and all(shared.values())
