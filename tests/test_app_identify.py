"""The Identify page (app.py) driven by Streamlit's AppTest with real photos and the shipped default model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from locations import BOLETUS_PHOTO, BOLETUS_SECOND_VIEW, FIXTURE_NOT_FUNGI, SAMPLE_PHOTOS
from markdown_text import shown_text
from streamlit.testing.v1 import AppTest

from champy.edibility import DISCLAIMER
from champy.edibility.guide import reference_photos
from champy.inference import DEFAULT_MODEL, identify, load_model
from champy.paths import PROJECT_ROOT
from champy_app.safety import BANNERS, attribution
from champy_app.support import HEAT_SCALE_HTML, edibility_badge, percent

MUSHROOM_PHOTO = BOLETUS_PHOTO
SECOND_VIEW = BOLETUS_SECOND_VIEW
NOT_A_MUSHROOM = FIXTURE_NOT_FUNGI / "skimage_astronaut.jpg"
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


def test_page_before_upload_shows_disclaimer_and_default_model() -> None:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    assert not app.exception
    assert DISCLAIMER in texts(app.warning)
    assert app.selectbox(key="model").value == DEFAULT_MODEL
    assert "Upload one or more photos" in app.info[0].value


def test_mushroom_photo_is_identified(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CHAMPY_GBIF_API", "http://127.0.0.1:9")  # GBIF unreachable: the offline snapshot answers
    monkeypatch.setenv("CHAMPY_GBIF_CACHE", str(tmp_path))
    expected = identify(MUSHROOM_PHOTO, load_model(DEFAULT_MODEL))
    assert expected.verdict == "mushroom"
    assert expected.species[0].name == catalogue_species(MUSHROOM_PHOTO) == "Boletus edulis"

    app = upload((MUSHROOM_PHOTO.name, MUSHROOM_PHOTO.read_bytes()))
    assert not app.exception
    assert f"### *{expected.answer}*" in texts(app.markdown)
    assert not app.success  # nothing green, whatever the answer
    banner = BANNERS[expected.risk.level][0]
    assert any(banner in text for text in texts(app.error) + texts(app.info) + texts(app.markdown))
    assert expected.warnings and all(any(w.split(" (")[0] in c for c in texts(app.caption)) for w in expected.warnings)
    assert DISCLAIMER in texts(app.warning)
    top = expected.species[0]
    rows = [text for text in texts(app.markdown) if f"*{top.name}* · {percent(top.probability)}" in text]
    assert len(rows) == 1 and f"{percent(top.probability)} {edibility_badge(top.edibility)}" in rows[0]
    assert f'alt="Reference photo of {top.name}"' in rows[0]  # a licensed photo of Boletus edulis ships
    assert attribution(reference_photos(top.name)[0]) in rows[0]
    assert f'aria-label="{percent(top.probability)}"' in rows[0]  # its probability bar
    shown = [c.name for c in expected.species]
    bars = [row for row in texts(app.markdown) if 'role="img" aria-label=' in row]
    assert [next(n for n in shown if f"*{n}* · " in row) for row in bars] == shown  # likeliest first
    assert not app.get("plotly_chart")  # offline, the bundled snapshot holds no record of this species to map
    notice = [text for text in texts(app.info) if text.startswith(f"**No occurrence records of *{top.name}* to map.**")]
    assert notice and "https://www.gbif.org/species/search?q=Boletus+edulis" in notice[0]
    captions = [image.captions for image in app.image]
    assert captions[0] == ["Your photo"] and captions[-1] == ["Where the model looked (Grad-CAM)"]
    assert HEAT_SCALE_HTML in texts(app.markdown)  # the heatmap's colour scale
    comparison = app.expander[0]
    assert "dangerous look-alikes" in comparison.label
    assert bool(comparison.markdown) == (expected.risk.level in ("deadly", "poisonous"))  # else drawn when opened
    app.session_state[f"lookalikes {top.name} {expected.risk.level}"] = True
    app.run()
    assert any(text.startswith(f"**{top.name}") for text in texts(app.expander[0].markdown))
    genus_rows = next(text for text in texts(app.markdown) if text.startswith("| Genus |")).splitlines()[2:]
    assert genus_rows[0] == f"| *{expected.genus[0].name}* | {percent(expected.genus[0].probability)} |"
    assert len(genus_rows) == len(expected.genus)


def test_two_photos_of_one_specimen() -> None:
    app = upload(
        (MUSHROOM_PHOTO.name, MUSHROOM_PHOTO.read_bytes()),
        (SECOND_VIEW.name, SECOND_VIEW.read_bytes()),
    )
    assert not app.exception
    assert not any(text.startswith("Cannot identify") for text in texts(app.error))
    assert "2 photo(s)" not in " ".join(texts(app.markdown))  # the details are drawn only when opened
    app.session_state["details"] = True
    app.run()
    assert "2 photo(s)" in " ".join(texts(app.markdown))
    assert "Where the model looked in your other photos" in texts(app.caption)


def test_not_a_mushroom() -> None:
    app = upload((NOT_A_MUSHROOM.name, NOT_A_MUSHROOM.read_bytes()))
    assert not app.exception and not app.error
    assert "### This does not look like a mushroom" in texts(app.markdown)
    assert not app.success
    assert [image.captions for image in app.image] == [["Your photo"]]  # no Grad-CAM for a rejected photo
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
