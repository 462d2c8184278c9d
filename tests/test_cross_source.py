"""Trust across sources: vouching for a species before "low", the figures per photo source, and the training options
that keep a network from learning which collection a photo came from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from locations import BOLETUS_PHOTO, SHARED_PHOTOS, needs_shared

from champy.card_sections import cross_source_table
from champy.data.labelled import load_labelled
from champy.data.prepare import prepare
from champy.data.sources import COMMONS, NEW_SOURCES_FOR_TESTING, photo_sources
from champy.edibility import lookup
from champy.errors import ChampyError, ModelLoadError
from champy.evaluation.cross_source import Answered, figures, low_mistakes, source_figures
from champy.evaluation.photos import embed_photos, leaving_out, siblings
from champy.images import load_model_input
from champy.inference import identify, load_model
from champy.models.card import card_path
from champy.paths import DATA_DIR, DEFAULT_MODEL, MODELS_DIR, SHARED_DIR
from champy.safety.profile import profile_path, read_profile
from champy.safety.vouch import VouchBank, bank_path, members_disagree, vouch_doubt
from champy.training.config import TrainConfig
from champy.training.degrade import degrade
from champy.training.trainer import _sample_weights, _with_extra_other

REFERENCES = DATA_DIR / "reference_photos"
NEW_SOURCES = SHARED_DIR / "data" / "photos_new_sources"


def _reference(species: str) -> str:
    refs = load_labelled(REFERENCES, "species")
    return sorted(refs[refs["species"] == species]["path"])[0]


def test_a_look_alike_without_a_class_is_not_vouched_for_as_the_known_species() -> None:
    """A Commons photo of Boletus pinophilus (no class), with its author's photos left out of the bank, is not
    vouched for as Boletus edulis; a training photo of Boletus edulis in the bank is."""
    model = load_model("mobilenet_v2_species")
    refs = load_labelled(REFERENCES, "species")
    photo = _reference("Boletus pinophilus")
    held = {str(Path(p).relative_to(MODELS_DIR.parent)) for p in siblings(refs, photo, "author")}
    bank, margin = model.safety.vouch.without(held), model.safety.thresholds.vouch_margin
    embedding = embed_photos(model, [photo]).embeddings
    doubt = vouch_doubt(embedding, "Boletus edulis", model.labels, bank, margin)
    assert doubt is not None and doubt.startswith("Champy cannot vouch for Boletus edulis")
    assert "Of the many Boletaceae, Champy knows only 3" in doubt and "Imleria badia" in doubt
    learned = np.asarray(bank.species) == "Boletus edulis"
    assert vouch_doubt(bank.embeddings[learned][:1], "Boletus edulis", model.labels, bank, margin) is None


def _copy_of_mobilenet(folder: Path, bank: VouchBank | None) -> Path:
    """The shipped MobileNetV2 with its card and profile copied into `folder`, with `bank` as its vouch bank."""
    shipped = MODELS_DIR / "mobilenet_v2_species.h5"
    folder.mkdir()
    copy = folder / shipped.name
    for source, target in ((shipped, copy), (card_path(shipped), card_path(copy))):
        shutil.copy(source, target)
    shutil.copy(profile_path(shipped), profile_path(copy))
    if bank is not None:
        bank.save(bank_path(profile_path(copy)))
    return copy


def test_without_its_vouch_bank_a_profile_is_not_used(tmp_path: Path) -> None:
    bank = load_model("mobilenet_v2_species").safety.vouch
    missing = _copy_of_mobilenet(tmp_path / "missing", None)
    with pytest.raises(ChampyError, match="cannot read the vouch bank"):
        read_profile(profile_path(missing))
    with pytest.raises(ModelLoadError, match="not offered: .*cannot read the vouch bank"):
        load_model(missing)  # a broken profile takes the model off the menu
    shorter = VouchBank(bank.embeddings[:, :-1], bank.species, bank.paths)
    with pytest.raises(ModelLoadError, match="not offered: .*banks hold embeddings of different lengths"):
        load_model(_copy_of_mobilenet(tmp_path / "shorter", shorter))  # another model's bank
    assert load_model(_copy_of_mobilenet(tmp_path / "intact", bank)).safety is not None
    VouchBank(bank.embeddings, bank.species[:-1], bank.paths).save(tmp_path / "ragged.vouch.npz")
    with pytest.raises(ChampyError, match="its embeddings and names do not match"):
        VouchBank.load(tmp_path / "ragged.vouch.npz")
    nan = bank.embeddings.copy()
    nan[3, 7] = np.nan
    VouchBank(nan, bank.species, bank.paths).save(tmp_path / "nan.vouch.npz")
    with pytest.raises(ChampyError, match="not finite"):
        VouchBank.load(tmp_path / "nan.vouch.npz")


def test_networks_that_do_not_agree_cannot_vouch() -> None:
    names = ["Boletus edulis", "Imleria badia", "other fungi"]
    agreeing = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])
    assert members_disagree(agreeing, names, 2) is None
    split = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1]])
    assert "do not agree on the species (Boletus edulis" in members_disagree(split, names, 2)


def test_a_low_answer_on_a_real_photo_says_it_is_vouched_for_or_why_not() -> None:
    result = identify(str(BOLETUS_PHOTO), load_model(DEFAULT_MODEL), explain=False)
    if result.risk.level == "low":
        assert result.risk.reasons[0].startswith("Confident identification of")
    else:
        assert result.risk.level in ("deadly", "poisonous", "uncertain") and result.risk.reasons


@needs_shared(NEW_SOURCES)
def test_no_low_answer_is_wrong_on_photos_from_a_collection_never_fitted_on() -> None:
    """The testing collection of the new-source photos: no species without a class at low, no low naming the wrong
    species, no deadly or poisonous photo at low (the default model)."""
    model = load_model(DEFAULT_MODEL)
    new = load_labelled(NEW_SOURCES, "species")
    test = new[photo_sources(new).isin(NEW_SOURCES_FOR_TESTING).to_numpy()]
    assert len(test) == 96
    for path, species in zip(test["path"], test["species"]):
        result = identify(path, model, explain=False)
        if result.risk.level == "low":
            assert result.species[0].name == species, path
        assert not (result.risk.level == "low" and lookup(species).status in ("deadly", "poisonous")), path


@pytest.mark.parametrize("species", ["Suillus luteus", "Tylopilus felleus", "Boletus reticulatus"])
def test_a_bolete_champy_has_no_class_for_is_never_low(species: str) -> None:
    """Commons photos of boletes without a class, each with its author's photos left out of the banks."""
    model = load_model(DEFAULT_MODEL)
    refs = load_labelled(REFERENCES, "species")
    for path in refs[refs["species"] == species]["path"]:
        with leaving_out(model, siblings(refs, path, "author")):
            assert identify(path, model, explain=False).risk.level != "low", path


def test_figures_count_what_they_say() -> None:
    classes = {"Boletus edulis", "Imleria badia"}
    rows = [
        Answered("Boletus edulis", "a", "Boletus edulis", "mushroom", "low"),
        Answered("Boletus edulis", "a", "Imleria badia", "mushroom", "uncertain"),
        Answered("Suillus luteus", "b", "Boletus edulis", "mushroom", "low"),
        Answered("Amanita phalloides", "b", "Imleria badia", "unknown", "deadly"),
    ]
    every = figures(rows, classes)
    assert every["top1_known"] == 0.5 and every["known_species_photos"] == 2
    assert every["low"] == 2 and every["low_wrong"] == 0.5 and every["low_wrong_count"] == 1
    assert every["other_species_low"] == 0.5 and every["dangerous_photos"] == 1 and every["dangerous_low"] == 0
    assert every["other_species_flagged"] == 0.5
    by_source = source_figures(rows, classes)
    assert set(by_source) == {"a", "b", "all"} and by_source["b"]["top1_known"] is None
    assert low_mistakes(rows) == [{**rows[2].__dict__}]
    table = cross_source_table({"cross_source": {"groups": {"new sources": every}, "measured_by": "x"}})
    assert table == (
        "- **new sources** (4 photos): top-1 50.0 % of 2 photos of known species; 2 answers at low, 1 of them naming "
        "the wrong species; other species at low 50.0 % of 2; deadly or poisonous at low: 0 of 1"
    )
    assert cross_source_table({}) is None


def test_sources_of_the_shipped_reference_photos() -> None:
    assert set(photo_sources(load_labelled(REFERENCES, "species"))) == {COMMONS}


@needs_shared(SHARED_PHOTOS)
def test_extra_other_fungi_join_the_training_split_only() -> None:
    base = prepare(load_labelled(SHARED_PHOTOS), 15, True, 42)
    config = TrainConfig(data=SHARED_PHOTOS, out=Path("x.h5"), extra_other=(str(REFERENCES),))
    grown = _with_extra_other(base, config)
    added = grown.table.iloc[len(base.table) :]
    classes = {label["name"] for label in base.labels}
    assert len(added) > 0 and set(added["split"]) == {"train"} and set(added["label_index"]) == {base.other_index}
    assert not added["species"].isin(classes).any()
    assert not any(lookup(s).status in ("deadly", "poisonous") for s in added["species"])  # kept for safety tests
    for split in ("val", "test"):
        assert grown.labels[base.other_index]["count"][split] == base.labels[base.other_index]["count"][split]
    held = TrainConfig(SHARED_PHOTOS, Path("x.h5"), extra_other=(str(REFERENCES),), held_out_sources=(COMMONS,))
    assert len(_with_extra_other(base, held).table) == len(base.table)


@needs_shared(SHARED_PHOTOS)
def test_source_balance_spreads_a_class_weight_over_its_collections() -> None:
    train = prepare(load_labelled(SHARED_PHOTOS), 15, True, 42).rows("train")
    plain = _sample_weights(train, 15, TrainConfig(data=SHARED_PHOTOS, out=Path("x.h5")))
    balanced = _sample_weights(train, 15, TrainConfig(data=SHARED_PHOTOS, out=Path("x.h5"), source_balance=True))
    cep = (train["species"] == "Boletus edulis").to_numpy()
    sources = photo_sources(train).to_numpy()
    assert balanced[cep].sum() == pytest.approx(plain[cep].sum(), rel=1e-5)  # the class weighs the same
    scraped, field = cep & (sources == "Sim98B/MushroomVision"), cep & (sources != "Sim98B/MushroomVision")
    assert balanced[scraped].mean() < plain[scraped].mean() < balanced[field].mean()


def test_a_degraded_view_keeps_the_photo_and_changes_its_pixels() -> None:
    image = load_model_input(str(BOLETUS_PHOTO), 224).astype(np.uint8)
    views = [degrade(image, np.random.default_rng(seed)) for seed in range(4)]
    assert all(view.shape == image.shape and view.dtype == np.uint8 for view in views)
    assert all(np.abs(view.astype(int) - image).mean() > 0.5 for view in views)
    assert np.array_equal(degrade(image, np.random.default_rng(7)), degrade(image, np.random.default_rng(7)))
    assert np.corrcoef(views[0].ravel(), image.ravel())[0, 1] > 0.8  # still the same photo


def test_cards_record_their_cross_source_figures() -> None:
    card = json.loads((MODELS_DIR / "champy_ensemble.ensemble.json").read_text(encoding="utf-8"))
    groups = card["cross_source"]["groups"]
    assert {"same sources (test split)", "new sources, test", "Commons, known species"} <= set(groups)
    assert groups["new sources, test"]["dangerous_low"] == 0
