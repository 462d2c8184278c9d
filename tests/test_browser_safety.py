"""Safety in a real browser: the served app in headless Chromium never shows a deadly answer as safe."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_server import ANSWER_CARD, CHROMIUM, CHROMIUM_ARGS, open_identify_page, serving_app, upload_and_wait
from helpers import held_out_photos
from locations import SHARED_PHOTOS, needs_shared

from champy.paths import PROJECT_ROOT

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
SCREENSHOTS = PROJECT_ROOT / "test-results"
OFFLINE = {"CHAMPY_GBIF_API": "http://127.0.0.1:9"}


@pytest.fixture(scope="module")
def identify_page(tmp_path_factory):
    """One served app and one Chromium page on its Identify page, for the module."""
    env = {**OFFLINE, "CHAMPY_GBIF_CACHE": str(tmp_path_factory.mktemp("gbif"))}
    with serving_app(env) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        open_identify_page(page, url)
        yield page
        browser.close()


def deadly_banner(page) -> str:
    """All the text of the answer card when it is the dark red DEADLY card ('' otherwise), its folded reasons too."""
    card = page.get_by_test_id(ANSWER_CARD)
    fill = card.evaluate("card => getComputedStyle(card).backgroundColor")
    return card.text_content() if "DEADLY" in card.inner_text() and fill == "rgb(103, 0, 31)" else ""


GREEN_ELEMENTS = """els => els.filter(e => {
    const [r, g, b, a = 1] = (getComputedStyle(e).backgroundColor.match(/[\\d.]+/g) || []).map(Number);
    return a > 0 && g > r + 40 && g > b + 20;
}).length"""


def check_no_green(page) -> None:
    """No success box and no element with a green background (badge, box) anywhere in the page."""
    assert page.get_by_test_id("stAlertContentSuccess").count() == 0
    assert page.get_by_test_id("stMain").locator("*").evaluate_all(GREEN_ELEMENTS) == 0


def test_the_green_check_sees_a_green_badge(identify_page) -> None:
    main = identify_page.get_by_test_id("stMain")
    before = main.locator("*").evaluate_all(GREEN_ELEMENTS)
    main.evaluate(
        "m => { const s = document.createElement('span'); s.id = 'probe';"
        " s.style.backgroundColor = 'rgba(33, 195, 84, 0.1)'; m.appendChild(s); }"
    )
    assert main.locator("*").evaluate_all(GREEN_ELEMENTS) == before + 1
    main.evaluate("m => m.querySelector('#probe').remove()")


@needs_shared(SHARED_PHOTOS)
def test_destroying_angel_shows_a_visible_deadly_warning(identify_page) -> None:
    upload_and_wait(identify_page, [Path(held_out_photos("Amanita virosa", 1)[0])])  # test split, not in the bank
    banner = deadly_banner(identify_page)
    assert banner and "deadly" in banner.lower() and "edible" not in banner.lower()
    assert identify_page.get_by_test_id(ANSWER_CARD).is_visible()
    check_no_green(identify_page)
    SCREENSHOTS.mkdir(exist_ok=True)
    identify_page.screenshot(path=str(SCREENSHOTS / "safety_virosa.png"), full_page=True)


@needs_shared(SHARED_PHOTOS)
def test_grisette_shows_its_deadly_lookalikes(identify_page) -> None:
    upload_and_wait(identify_page, [Path(held_out_photos("Amanita vaginata", 1)[0])])
    banner = deadly_banner(identify_page)
    assert "Amanita phalloides" in banner or "Amanita virosa" in banner
    check_no_green(identify_page)
    comparison = identify_page.get_by_test_id("stExpander").filter(has_text="dangerous look-alikes")
    assert comparison.is_visible()
    assert "Death Cap" in comparison.inner_text() or "Destroying Angel" in comparison.inner_text()
    identify_page.screenshot(path=str(SCREENSHOTS / "safety_vaginata.png"), full_page=True)
