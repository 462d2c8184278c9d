"""The answer first, in headless Chromium on a phone (390x844) and a desktop (1400x900): after an upload of a known
species, a species Champy never learned and a photo that is not a mushroom, the answer card with its risk level is
inside the first screen; nothing says "edible" in or beside a deadly or poisonous card; "a species Champy does not
know" is among the candidates, each with a photo or "no photo"; no navigation drawer covers the page after a page is
chosen; and on a cold start, while the networks are compiled, the waiting messages sit in the answer card's place
without overlapping each other or what is left of the page. Screenshots go to test-results/layout/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_server import ANSWER_CARD, CHROMIUM, open_identify_page, serving_app, upload_and_wait
from test_browser_layout import SCREENSHOTS, VIEWPORTS, screenshot

from champy.paths import PROJECT_ROOT
from champy_app.answer_card import UNKNOWN_SPECIES

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
REFERENCE = PROJECT_ROOT / "data" / "reference_photos"
CASES = {
    # a known species whose answer is DEADLY (its look-alike, the panther cap, kills)
    "known": (REFERENCE / "Amanita_muscaria" / "wikimedia-amanita-muscaria-fly-agaric.jpg", "DEADLY"),
    # a poisonous species none of the models learned: answered "a species Champy does not know", POISONOUS
    "unknown": (REFERENCE / "Entoloma_sinuatum" / "wikimedia-entoloma-sinuatum-gallery-2.jpg", "POISONOUS"),
    "not_a_mushroom": (PROJECT_ROOT / "tests" / "fixtures" / "not_fungi" / "coral_cat.jpg", "UNCERTAIN"),
}
RECORD_WAIT = """() => {
    const box = element => { const r = element.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const shown = element => element.getBoundingClientRect().height > 0;
    window.champyFrames = [];
    const frame = () => {
        const spinners = [...document.querySelectorAll('[data-testid="stSpinner"]')].filter(shown);
        const others = [...document.querySelectorAll('[data-testid="stElementContainer"], [data-testid="stExpander"]')]
            .filter(shown).filter(element => !element.querySelector('[data-testid="stSpinner"]'));
        window.champyFrames.push({
            spinners: spinners.map(element => ({text: element.innerText, box: box(element),
                                                inSlot: !!element.closest('.st-key-answer')})),
            others: others.map(element => ({text: element.innerText.slice(0, 60), box: box(element)})),
        });
        if (!document.querySelector('[data-testid="champyAnswerCard"]')) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
}"""
"""Records, on every animation frame until the answer card shows, the spinners (text, box, inside the answer card's
slot) and every other element and folded section on the page (its text and box), those left from the previous run
included."""
CARD_NEIGHBOURS = """card => {
    const block = card.closest('[data-testid="stVerticalBlock"] > div') || card;
    return [block.previousElementSibling, block, block.nextElementSibling]
        .filter(Boolean).map(element => element.textContent).join(' ');
}"""


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_answer_card_is_on_the_first_screen(browser, app_url: str, viewport: str) -> None:
    size = VIEWPORTS[viewport]
    page = browser.new_page(viewport=size)
    try:
        open_identify_page(page, app_url)
        for case, (photo, level) in CASES.items():
            upload_and_wait(page, [Path(photo)])
            card = page.get_by_test_id(ANSWER_CARD)
            box = card.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (case, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (case, box)
            text = card.text_content()
            assert level in card.inner_text() and card.locator('img[alt="Your photo"]').count() == 1, case
            if level in ("DEADLY", "POISONOUS"):
                # the card, its folded reasons and the blocks right before and after it
                assert not re.search(r"edible", card.evaluate(CARD_NEIGHBOURS), re.IGNORECASE), case
                candidates = page.get_by_test_id("champyCandidates")
                assert not re.search(r"edible", candidates.text_content(), re.IGNORECASE), case
            if case == "not_a_mushroom":
                assert "Not a mushroom" in text and "do not eat" not in text.lower()
                assert page.get_by_test_id("champyCandidates").count() == 0
            else:
                check_candidates(page)
            if case == "unknown":
                assert "A species Champy does not know" in text
            page.screenshot(path=str(SCREENSHOTS / f"answer_{case}_{viewport}_first_screen.png"))
            screenshot(page, SCREENSHOTS / f"answer_{case}_{viewport}.png")
            page.set_viewport_size(size)
    finally:
        page.close()


def check_candidates(page) -> None:
    """'A species Champy does not know' is a candidate, and every candidate shows a photo or says "no photo"."""
    rows = page.get_by_test_id("champyCandidates").locator("[data-candidate]")
    names = [rows.nth(i).get_attribute("data-candidate") for i in range(rows.count())]
    assert UNKNOWN_SPECIES in names and len(names) >= 2
    for i, name in enumerate(names):
        row = rows.nth(i)
        has_photo = row.locator("img").count() == 1 and row.locator("img").evaluate("img => img.naturalWidth > 0")
        assert has_photo or "no photo" in row.inner_text(), name
        if has_photo:
            assert re.search(r"Photo: .+, .+, (Wikimedia Commons|Mushroom Observer)", row.inner_text()), name
    assert "14 species" in page.get_by_test_id("stMain").inner_text()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_no_drawer_covers_the_page_after_choosing_one(browser, app_url: str, viewport: str) -> None:
    page = browser.new_page(viewport=VIEWPORTS[viewport])
    try:
        open_identify_page(page, app_url)
        page.get_by_test_id("stPageLink").filter(has_text="Model cards").click()
        page.get_by_text("Intended use").wait_for(timeout=120_000)
        for moment in ("after the tap", "after a reload"):
            drawer = page.get_by_test_id("stSidebar")
            assert drawer.count() == 0 or drawer.bounding_box()["width"] == 0 or drawer.bounding_box()["x"] < 0, moment
            heading = page.get_by_text("Intended use").bounding_box()
            assert heading["x"] >= 0 and heading["x"] < VIEWPORTS[viewport]["width"] / 2, moment
            page.reload()
            page.get_by_text("Intended use").wait_for(timeout=120_000)
    finally:
        page.close()


def test_several_photos_share_one_grid_of_small_heat_maps(browser, app_url: str) -> None:
    page = browser.new_page(viewport=VIEWPORTS["phone"])
    try:
        open_identify_page(page, app_url)
        cep = PROJECT_ROOT / "data" / "sample_photos" / "Boletus_edulis"
        upload_and_wait(page, [cep / "mto_mo1725981.jpg", cep / "mto_mo1718535.jpg"])
        figures = page.get_by_test_id("champyPhotoGrid").locator("figure")
        assert figures.count() == 3  # the first photo, then where the model looked in each photo
        boxes = [figures.nth(i).locator("img").bounding_box() for i in range(3)]
        assert all(box["width"] <= VIEWPORTS["phone"]["width"] / 2 and box["height"] <= 240 for box in boxes), boxes
        screenshot(page, SCREENSHOTS / "answer_two_photos_phone.png")
    finally:
        page.close()


def overlap(first: list[float], second: list[float]) -> bool:
    """Whether two [left, top, right, bottom] boxes share more than an edge."""
    return first[0] < second[2] and second[0] < first[2] and first[1] < second[3] and second[1] < first[3]


def test_a_cold_start_waits_in_the_answer_card_place(browser, tmp_path: Path) -> None:
    offline = {
        "CHAMPY_GBIF_API": "http://127.0.0.1:9",
        "CHAMPY_GBIF_CACHE": str(tmp_path / "gbif"),
        "CHAMPY_COMPILED_CACHE": str(tmp_path / "compiled"),  # empty: the networks are compiled on this first use
    }
    size = VIEWPORTS["phone"]
    with serving_app(offline) as url:
        page = browser.new_page(viewport=size)
        try:
            open_identify_page(page, url)
            page.evaluate(RECORD_WAIT)
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(CASES["known"][0])])
            page.get_by_test_id("stSpinner").first.wait_for(timeout=60_000)
            page.screenshot(path=str(SCREENSHOTS / "answer_cold_start_phone_waiting.png"))
            card = page.get_by_test_id(ANSWER_CARD)
            card.or_(page.get_by_test_id("stAlertContentError")).first.wait_for(timeout=300_000)
            assert card.count() == 1, page.get_by_test_id("stAlertContentError").all_inner_texts()
            frames = page.evaluate("window.champyFrames")
            box = card.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], box
        finally:
            page.close()
    waiting = [frame for frame in frames if frame["spinners"]]
    assert waiting, "no waiting message was seen"
    assert "Preparing the networks, then identifying" in waiting[0]["spinners"][0]["text"]
    for frame in waiting:
        spinners = frame["spinners"]
        assert len(spinners) == 1, spinners  # one message for one wait
        assert all(spinner["inSlot"] for spinner in spinners), spinners
        covered = [other["text"] for other in frame["others"] if overlap(spinners[0]["box"], other["box"])]
        assert not covered, (spinners, covered)
