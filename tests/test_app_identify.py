"""The Identify page (app.py) driven by Streamlit's AppTest with real photos and the shipped default model."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from locations import BOLETUS_PHOTO, BOLETUS_SECOND_VIEW, FIXTURE_NOT_FUNGI, SAMPLE_PHOTOS
from markdown_text import shown_text
from streamlit.testing.v1 import AppTest

from champy.inference import DEFAULT_MODEL, identify, load_model
from champy.paths import PROJECT_ROOT
from champy.scoring.percent import probability_text
from champy_app.answer_card import UNKNOWN_SPECIES
from champy_app.candidates import candidate_photo, credit_html
from champy_app.risk_style import RISK_STYLES
from champy_app.support import HEAT_SCALE_HTML, RESULT_CAPTION
from champy_app.wording import SHORT_DISCLAIMER

MUSHROOM_PHOTO = BOLETUS_PHOTO
SECOND_VIEW = BOLETUS_SECOND_VIEW
NOT_A_MUSHROOM = FIXTURE_NOT_FUNGI / "skimage_astronaut.jpg"
FLY_AGARIC = (
    PROJECT_ROOT / "data" / "reference_photos" / "Amanita_muscaria" / "wikimedia-amanita-muscaria-fly-agaric.jpg"
)
RUN_TIMEOUT = 180


def catalogue_species(photo: Path) -> str:
    """The species the photo catalogue records for `photo`."""
    catalogue = pd.read_csv(SAMPLE_PHOTOS / "photos.csv")
    return catalogue.loc[catalogue["path"] == f"{photo.parent.name}/{photo.name}", "species"].item()


def upload(*photos: tuple[str, bytes]) -> AppTest:
    """The Identify page after uploading `photos` (name, bytes)."""
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    app.file_uploader(key="photos").set_value([(name, content, "image/jpeg") for name, content in photos])
    return app.run()


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def answer_card(app: AppTest) -> str:
    """The answer card's HTML (exactly one on the page)."""
    cards = [text for text in texts(app.markdown) if 'data-testid="champyAnswerCard"' in text]
    assert len(cards) == 1
    return cards[0]


def test_page_before_upload_shows_disclaimer_and_default_model() -> None:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    assert not app.exception
    assert any(SHORT_DISCLAIMER in text for text in texts(app.caption))
    assert app.selectbox(key="model").value == DEFAULT_MODEL
    assert app.selectbox(key="model").format_func(DEFAULT_MODEL) == "Champy, 3 networks together (recommended)"
    assert "Upload one or more photos" in app.info[0].value


def test_mushroom_photo_is_identified(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CHAMPY_GBIF_API", "http://127.0.0.1:9")  # GBIF unreachable: the offline snapshot answers
    monkeypatch.setenv("CHAMPY_GBIF_CACHE", str(tmp_path))
    expected = identify(MUSHROOM_PHOTO, load_model(DEFAULT_MODEL))
    assert expected.verdict == "mushroom"
    assert expected.species[0].name == catalogue_species(MUSHROOM_PHOTO) == "Boletus edulis"

    app = upload((MUSHROOM_PHOTO.name, MUSHROOM_PHOTO.read_bytes()))
    assert not app.exception
    card = answer_card(app)
    assert f"<i>{expected.answer}</i>" in card and probability_text(expected.species[0].probability) in card
    assert f'data-risk="{expected.risk.level}"' in card and RISK_STYLES[expected.risk.level].label in card
    assert f"background:{RISK_STYLES[expected.risk.level].fill}" in card  # the level is the card's colour
    assert 'alt="Your photo"' in card
    assert "(member " not in card and "similarity " not in card  # no developer detail
    assert not app.success  # nothing green, whatever the answer
    if expected.risk.level in ("deadly", "poisonous"):
        assert "edible" not in card.lower()
    assert any(SHORT_DISCLAIMER in text for text in texts(app.caption))
    top = expected.species[0]
    candidates = next(text for text in texts(app.markdown) if 'data-testid="champyCandidates"' in text)
    rows = candidates.split("<div data-candidate=")[1:]
    shown = [row.split('"')[1] for row in rows]
    probabilities = {c.name: c.probability for c in expected.species} | {UNKNOWN_SPECIES: expected.other_probability}
    assert sorted(shown) == sorted(probabilities)  # every candidate and "a species Champy does not know"
    assert [probabilities[name] for name in shown] == sorted(probabilities.values(), reverse=True)  # likeliest first
    assert f'alt="Reference photo of {top.name}"' in rows[0]  # a licensed photo of Boletus edulis ships
    assert credit_html(candidate_photo(top.name)) in rows[0]
    assert f'aria-label="{probability_text(top.probability)}"' in rows[0]  # its probability bar
    for name, row in zip(shown, rows):
        assert ("<img " in row) == (candidate_photo(name) is not None) and ("<img " in row or "no photo" in row)
    assert "14 species" in candidates and "Amanita virosa" in candidates  # which species Champy knows
    assert f"<i>{expected.genus[0].name}</i> {probability_text(expected.genus[0].probability)}" in candidates
    assert not app.get("plotly_chart")  # offline, the bundled snapshot holds no record of this species to map
    notice = [text for text in texts(app.caption) if text.startswith(":material/travel_explore: No map: GBIF cannot")]
    assert notice and "https://www.gbif.org/species/search?q=Boletus+edulis" in notice[0]
    grid = next(text for text in texts(app.markdown) if 'data-testid="champyPhotoGrid"' in text)
    assert 'alt="Your photo"' in grid and f'alt="{RESULT_CAPTION}"' in grid and HEAT_SCALE_HTML in grid
    assert len(app.image) == len(app.expander[0].image)  # the uploaded photos travel inside the grid's HTML
    comparison = app.expander[0]
    assert "dangerous look-alikes" in comparison.label
    assert bool(comparison.markdown) == (expected.risk.level in ("deadly", "poisonous"))  # else drawn when opened
    app.session_state[f"lookalikes {top.name} {expected.risk.level}"] = True
    app.run()
    assert any(text.startswith(f"**{top.name}") for text in texts(app.expander[0].markdown))


@pytest.mark.parametrize(
    ("probability", "decimals", "shown"),
    [
        (1.0, 1, "> 99.9 %"),
        (0.99996, 1, "> 99.9 %"),
        (0.9994, 1, "99.9 %"),
        (0.873, 1, "87.3 %"),
        (0.0006, 1, "0.1 %"),
        (0.0004, 1, "< 0.1 %"),
        (0.0, 1, "< 0.1 %"),
        (0.996, 0, "> 99 %"),
        (0.994, 0, "99 %"),
        (0.004, 0, "< 1 %"),
    ],
)
def test_a_probability_never_reads_as_certain(probability: float, decimals: int, shown: str) -> None:
    assert probability_text(probability, decimals) == shown


def test_a_sure_answer_is_not_shown_as_certain() -> None:
    app = upload((FLY_AGARIC.name, FLY_AGARIC.read_bytes()))
    card = answer_card(app)
    assert "Amanita muscaria" in card and "> 99.9 %" in card  # the networks give it more than 99.95 %
    page = " ".join(texts(app.markdown))
    assert not re.search(r"(?<![\d.])(100|0)\.0 %", page)  # neither in the card nor among the candidates


def test_two_photos_of_one_specimen() -> None:
    app = upload(
        (MUSHROOM_PHOTO.name, MUSHROOM_PHOTO.read_bytes()),
        (SECOND_VIEW.name, SECOND_VIEW.read_bytes()),
    )
    assert not app.exception
    assert not any(text.startswith("Cannot identify") for text in texts(app.error))
    assert "2 photo(s)" not in " ".join(texts(app.caption))  # the details are drawn only when opened
    grid = next(text for text in texts(app.markdown) if 'data-testid="champyPhotoGrid"' in text)
    assert grid.count("<figure") == 3  # the first photo, then where the model looked in each of the two
    assert f'alt="{RESULT_CAPTION}"' in grid and 'alt="Photo 2: where the model looked"' in grid
    app.session_state["details"] = True
    app.run()
    assert "2 photo(s)" in " ".join(texts(app.caption))
    assert not app.json  # no raw JSON in the user's way


def test_not_a_mushroom() -> None:
    app = upload((NOT_A_MUSHROOM.name, NOT_A_MUSHROOM.read_bytes()))
    assert not app.exception and not app.error
    card = answer_card(app)
    assert "Not a mushroom" in card and "do not eat" not in card.lower()  # nothing to eat in a photo of a person
    assert not app.success
    grid = next(text for text in texts(app.markdown) if 'data-testid="champyPhotoGrid"' in text)
    assert grid.count("<figure") == 1 and RESULT_CAPTION not in grid  # no Grad-CAM for a rejected photo
    assert not any('data-testid="champyCandidates"' in text for text in texts(app.markdown))
    assert not app.get("plotly_chart")  # no species chart, no map


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jpg", b"", "empty.jpg is empty (0 bytes)"),
        ("notes.txt", b"these are field notes, not a photo\n", "notes.txt: not an image"),
        ("truncated.jpg", MUSHROOM_PHOTO.read_bytes()[:600], "truncated.jpg: corrupt"),
        ("huge.jpg", b"\xff\xd8\xff" + bytes(21 * 2**20), "more than the 20 MB limit"),
    ],
)
def test_bad_upload_gets_a_clear_message(name: str, content: bytes, message: str) -> None:
    app = upload((name, content))
    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].value.startswith("Cannot identify this upload:") and message in shown_text(app.error[0].value)
    assert not app.get("plotly_chart")
