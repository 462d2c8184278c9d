"""End to end: the real `streamlit run app.py` server driven by headless Chromium (Debian's), offline."""

from __future__ import annotations

import pytest
from app_server import ANSWER_CARD, CHROMIUM, CHROMIUM_ARGS, open_identify_page, serving_app, upload_and_wait
from locations import SHARED_PHOTOS, needs_shared

from champy.paths import PROJECT_ROOT
from champy_app.support import RESULT_CAPTION

sync_api = pytest.importorskip("playwright.sync_api")
PHOTO = SHARED_PHOTOS / "Amanita_muscaria" / "lan_inat587059976.jpg"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)"),
    needs_shared(PHOTO),
]
SCREENSHOT = PROJECT_ROOT / "test-results" / "identify_page.png"
UNREACHABLE_GBIF = "http://127.0.0.1:9"


def test_upload_a_photo_and_read_the_result(tmp_path) -> None:
    offline = {"CHAMPY_GBIF_API": UNREACHABLE_GBIF, "CHAMPY_GBIF_CACHE": str(tmp_path / "gbif")}
    with serving_app(offline) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2600})
        requested = []
        page.on("requestfinished", lambda request: requested.append(request.url))
        open_identify_page(page, url)
        seconds = upload_and_wait(page, [PHOTO])
        assert 0 < seconds < 120  # the harness times the upload (the benchmarks' figures are these seconds)

        card = page.get_by_test_id(ANSWER_CARD)
        assert card.is_visible()
        assert page.get_by_test_id("stAlertContentSuccess").count() == 0
        banner = card.inner_text()
        assert "Amanita muscaria" in banner and "DEADLY" in banner  # the fly agaric's look-alike, the panther cap
        assert "Poisonous" in page.get_by_test_id("stMain").inner_text()
        heatmap = page.get_by_test_id("champyPhotoGrid").locator(f'img[alt="{RESULT_CAPTION}"]')
        loaded = "img => img.complete && img.naturalWidth > 100"
        page.wait_for_function(loaded, arg=heatmap.element_handle(), timeout=30_000)  # drawn, even under load

        occurrence_map = page.locator(".js-plotly-plot .geo").first
        occurrence_map.wait_for(timeout=60_000)
        # country borders drawn from the bundled topojson (one long SVG path)
        page.wait_for_function(
            "(document.querySelector('.js-plotly-plot .countries path')?.getAttribute('d') || '').length > 10000"
        )
        assert page.locator(".js-plotly-plot .scattergeo .point").count() == 300  # the offline snapshot's records
        assert any("/app/static/maps/world_" in address for address in requested)
        assert not any("cdn.plot.ly" in address for address in requested)
        assert page.get_by_text("Showing the offline snapshot instead").count() >= 1

        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
