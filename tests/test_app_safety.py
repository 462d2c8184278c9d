"""Safety first on the Identify page (AppTest, real photos, the shipped default model): a deadly answer's card is
filled dark red and says DEADLY, nothing is green, nothing says "edible" near it, and the dangerous look-alikes are
shown beside the candidate with their licensed photos."""

from __future__ import annotations

from pathlib import Path

from helpers import held_out_photos
from streamlit.testing.v1 import AppTest

from champy.paths import PROJECT_ROOT
from champy_app.risk_style import RISK_STYLES

RUN_TIMEOUT = 180


def identify_page(photo: Path) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    app.file_uploader(key="photos").set_value([(photo.name, photo.read_bytes(), "image/jpeg")])
    return app.run()


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def deadly_card(app: AppTest) -> str:
    """The answer card's HTML, checked to be the filled DEADLY card."""
    card = next(text for text in texts(app.markdown) if 'data-testid="champyAnswerCard"' in text)
    style = RISK_STYLES["deadly"]
    assert 'data-risk="deadly"' in card and f"background:{style.fill}" in card and style.label in card
    assert f"{style.headline}" in card and "edible" not in card.lower()
    return card


def test_destroying_angel_gets_a_red_deadly_banner_and_its_lookalikes() -> None:
    app = identify_page(Path(held_out_photos("Amanita virosa", 1)[0]))  # a test-split photo, not in the bank
    assert not app.exception
    assert not app.success
    assert "Amanita" in deadly_card(app).split(RISK_STYLES["deadly"].headline)[1]  # the reasons name the danger
    comparison = app.expander[0]
    assert comparison.label.startswith("Compare ") and "dangerous look-alikes" in comparison.label
    cards = [text for text in texts(comparison.markdown) if text.startswith("**")]
    assert any("Amanita virosa" in card for card in cards) and len(cards) >= 2
    attributions = [text for text in texts(comparison.caption) if text.startswith("Photo: ")]
    assert attributions and all("commons.wikimedia.org" in text and "CC" in text for text in attributions)
    assert any("volva" in text.lower() for text in texts(comparison.markdown))


def test_grisette_never_looks_safe() -> None:
    photo = Path(held_out_photos("Amanita vaginata", 1)[0])
    app = identify_page(photo)
    assert not app.exception
    assert not app.success
    card = deadly_card(app)
    assert "Amanita phalloides" in card or "Amanita virosa" in card
    candidates = next(text for text in texts(app.markdown) if 'data-testid="champyCandidates"' in text)
    assert "edible" not in candidates.lower()  # the grisette is not called edible under a deadly answer
    badges = [text for text in texts(app.markdown) if "badge[" in text]
    assert badges and not any(":green-badge[" in text for text in badges)
    assert any(
        text.startswith("**Amanita virosa") or text.startswith("**Amanita phalloides")
        for text in texts(app.expander[0].markdown)
    )
