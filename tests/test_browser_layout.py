"""Every page with a result, in headless Chromium on a phone (390x844) and a desktop (1400x900): nothing scrolls
sideways, no element reaches past the right edge, no exception. Screenshots go to test-results/layout/."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_server import CHROMIUM, open_identify_page, upload_and_wait, wait_until_drawn

from champy.paths import PROJECT_ROOT

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
SCREENSHOTS = PROJECT_ROOT / "test-results" / "layout"
# Shipped licensed photos: a fly agaric (its occurrence map is drawn from the bundled snapshot) and a cep.
FLY_AGARIC = (
    PROJECT_ROOT / "data" / "reference_photos" / "Amanita_muscaria" / "wikimedia-amanita-muscaria-fly-agaric.jpg"
)
CEP = PROJECT_ROOT / "data" / "sample_photos" / "Boletus_edulis" / "mto_mo1725981.jpg"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1400, "height": 900}}
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const scrollsInside = '[data-testid="stDataFrame"], [data-testid="stCode"]';
    const past = [];
    for (const element of document.querySelectorAll('[data-testid="stMain"] *')) {
        if (element.closest(scrollsInside)) continue;
        const box = element.getBoundingClientRect();
        if (box.width > 0 && box.height > 0 && box.right > width + 1) {
            const keyed = element.closest('[class*="st-key-"]')?.className.match(/st-key-\\S+/)?.[0];
            const owner = keyed || element.closest('[data-testid]')?.dataset.testid;
            past.push(`${element.tagName.toLowerCase()} in ${owner}: right edge ${Math.round(box.right)} px`);
        }
    }
    const main = document.querySelector('[data-testid="stMain"]');
    return {width, page: document.documentElement.scrollWidth, main: main.scrollWidth - main.clientWidth,
            past: past.slice(0, 10)};
}"""


def show_identify(page, url: str) -> None:
    open_identify_page(page, url)
    upload_and_wait(page, [FLY_AGARIC])


def show_compare(page, url: str) -> None:
    page.goto(f"{url}/compare")
    page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=120_000)
    upload_and_wait(page, [CEP], marker="Your photo")


def show_model_cards(page, url: str) -> None:
    page.goto(f"{url}/model_cards")
    page.get_by_text("Intended use").wait_for(timeout=120_000)


def show_dataset(page, url: str) -> None:
    page.goto(f"{url}/dataset")
    page.get_by_text("One photo of each class").wait_for(timeout=120_000)


PAGES = {"identify": show_identify, "compare": show_compare, "model_cards": show_model_cards, "dataset": show_dataset}


def screenshot(page, path: Path) -> None:
    """The whole page: the window grows to the main block's height first (the main block scrolls, not the page)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(height, 16000)})
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", list(PAGES))
def test_page_fits_the_screen(browser, app_url: str, name: str, viewport: str) -> None:
    page = browser.new_page(viewport=VIEWPORTS[viewport])
    try:
        PAGES[name](page, app_url)
        wait_until_drawn(page)
        assert page.get_by_test_id("stException").count() == 0
        assert not page.get_by_text("Cannot identify").count()
        fit = page.evaluate(OVERFLOW)
        screenshot(page, SCREENSHOTS / f"{name}_{viewport}.png")
        assert fit["page"] <= fit["width"] and fit["main"] <= 1, fit
        assert not fit["past"], fit
    finally:
        page.close()
