"""Untrusted names show as plain text, a request's photos are capped, and a malformed model file beside the shipped
models leaves every page working (Streamlit AppTest, and the real server in headless Chromium)."""

from __future__ import annotations

import html
import json
import os
import shutil
import textwrap
from pathlib import Path

import h5py
import pytest
from app_server import CHROMIUM, CHROMIUM_ARGS, open_identify_page, serving_app
from helpers import every_page_report
from locations import BOLETUS_PHOTO
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from champy.images import MAX_PHOTOS
from champy.inference import available_models
from champy.paths import MODELS_DIR, PROJECT_ROOT
from champy_app.support import LINK_BREAK, as_text

RUN_TIMEOUT = 180
BEACON_NAME = "![t](http://127.0.0.1:9/beacon.png) <img src=x> **bold** :red[red] $x$.jpg"
SHIPPED = tuple(available_models())  # the default first, then A-Z


def rendered(markdown: str) -> str:
    """What a CommonMark renderer makes of `markdown` (HTML), without `as_text`'s invisible link breaks."""
    return MarkdownIt("commonmark").render(markdown).replace(LINK_BREAK, "")


def identify_page(*photos: tuple[str, bytes]) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=RUN_TIMEOUT).run()
    app.file_uploader(key="photos").set_value([(name, content, "image/jpeg") for name, content in photos])
    return app.run()


def test_escaped_text_renders_as_exactly_that_text():
    for text in (BEACON_NAME, "a_b_c *x* `code` [link](javascript:alert(1)) <script>&amp;\\ # h", "line\nbreak"):
        shown = " ".join(text.split())
        assert rendered(as_text(text)) == f"<p>{html.escape(shown, quote=False)}</p>\n"


def test_a_markdown_file_name_shows_as_text():
    app = identify_page((BEACON_NAME, b"field notes, not a photo"))
    assert not app.exception and len(app.error) == 1
    message = app.error[0].value
    assert (
        message == f"Cannot identify this upload: {as_text(BEACON_NAME + ': not an image (or an unsupported format)')}"
    )
    page = rendered(message)
    assert "<img" not in page and "<a " not in page and "<strong>" not in page
    assert (
        html.unescape(page)
        == f"<p>Cannot identify this upload: {BEACON_NAME}: not an image (or an unsupported format)</p>\n"
    )


def test_more_photos_than_the_cap_are_refused_clearly():
    photo = BOLETUS_PHOTO.read_bytes()
    app = identify_page(*[(f"view {i}.jpg", photo) for i in range(MAX_PHOTOS + 1)])
    assert not app.exception and len(app.error) == 1
    refusal = f"{MAX_PHOTOS + 1} photos chosen: at most {MAX_PHOTOS} photos of one mushroom at a time"
    assert app.error[0].value == f"Cannot identify this upload: {as_text(refusal)}"
    assert not app.image  # nothing was identified


def models_with_malformed_files(folder: Path) -> Path:
    """The shipped models folder (linked) plus: an HDF5 file whose model_config is not JSON, one whose model_config
    is a JSON array, one that passes the listing but is no Keras model, and a named pipe; each with a real card."""
    folder.mkdir()
    for entry in MODELS_DIR.iterdir():
        os.symlink(entry, folder / entry.name)
    for name, config in (
        ("not_json", b"\xff{not json"),
        ("array_config", "[1, 2, 3]"),
        ("unloadable", json.dumps({"class_name": "NoSuchModel", "config": {}})),
    ):
        with h5py.File(folder / f"{name}.h5", "w") as handle:
            handle.attrs["model_config"] = config
        shutil.copy(MODELS_DIR / "mobilenet_v2_species.json", folder / f"{name}.json")
    os.mkfifo(folder / "pipe.h5")  # reading it would wait for a writer forever
    shutil.copy(MODELS_DIR / "mobilenet_v2_species.json", folder / "pipe.json")
    return folder


EVERY_PAGE = textwrap.dedent(
    """
    import json, sys
    from streamlit.testing.v1 import AppTest
    from champy.inference import available_models, unavailable_models

    report = {"available": available_models(), "unavailable": unavailable_models(), "pages": {}}
    app = AppTest.from_file(sys.argv[1], default_timeout=180).run()
    report["pages"]["identify"] = {"exception": [str(e.value) for e in app.exception],
                                   "captions": [c.value for c in app.caption]}
    app.file_uploader(key="photos").set_value([("cep.jpg", open(sys.argv[2], "rb").read(), "image/jpeg")]).run()
    report["pages"]["identify_photo"] = {"exception": [str(e.value) for e in app.exception],
                                         "error": [e.value for e in app.error]}
    for page in ("compare", "model_cards", "dataset"):
        app.switch_page(f"pages/{page}.py").run()
        if page == "compare":
            upload = ("cep.jpg", open(sys.argv[2], "rb").read(), "image/jpeg")
            app.file_uploader(key="compare_photo").set_value(upload).run()
        report["pages"][page] = {"exception": [str(e.value) for e in app.exception],
                                 "error": [e.value for e in app.error],
                                 "captions": [c.value for c in app.caption], "images": len(app.image)}
    print(json.dumps(report))
    """
)


def test_a_malformed_model_file_leaves_every_page_working(tmp_path):
    models = models_with_malformed_files(tmp_path / "models")
    report = every_page_report(EVERY_PAGE, models, tmp_path)
    assert report["available"] == [*SHIPPED, "unloadable"]  # the default first, then A-Z
    assert report["unavailable"] == {
        "array_config": "array_config.h5: its model_config is not a Keras model description (a JSON object)",
        "not_json": "not_json.h5: its model_config is not JSON",
        "pipe": "pipe.h5: is a pipe, not a file",
    }
    pages = report["pages"]
    assert all(not page["exception"] for page in pages.values()), pages
    assert f"Not offered: {as_text('not_json.h5: its model_config is not JSON')}" in pages["identify"]["captions"]
    assert not pages["identify_photo"]["error"]
    compare = pages["compare"]
    assert not compare["error"] and compare["images"] >= len(SHIPPED)  # every shipped model answered
    skipped = [c for c in compare["captions"] if c.startswith("Not compared: unloadable could not be loaded")]
    assert len(skipped) == 1 and len(skipped[0]) < 300
    assert not pages["model_cards"]["error"] and not pages["dataset"]["error"]


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed (apt-get install chromium)")
def test_in_the_browser_names_stay_text_and_a_malformed_model_breaks_no_page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    models = models_with_malformed_files(tmp_path / "models")
    env = {
        "CHAMPY_MODELS_DIR": str(models),
        "CHAMPY_GBIF_API": "http://127.0.0.1:9",
        "CHAMPY_GBIF_CACHE": str(tmp_path / "gbif"),
    }
    with serving_app(env) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        open_identify_page(page, url)
        page.get_by_test_id("stExpander").filter(has_text="Advanced").locator("summary").click()  # the model choice
        not_offered = page.get_by_text("Not offered").first
        not_offered.wait_for(timeout=120_000)
        offered_text = " ".join(page.get_by_text("Not offered").all_inner_texts()).replace(LINK_BREAK, "")
        assert "not_json.h5: its model_config is not JSON" in offered_text
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
            files=[{"name": BEACON_NAME, "mimeType": "image/jpeg", "buffer": b"field notes, not a photo"}]
        )
        alert = page.get_by_test_id("stAlertContentError")
        alert.wait_for(timeout=120_000)
        assert BEACON_NAME in alert.inner_text().replace(LINK_BREAK, "")  # as typed, the address not a link
        assert alert.locator("img, a, strong").count() == 0
        assert not [address for address in requested if "beacon" in address or address.endswith("/x")]
        for path in ("compare", "model_cards", "dataset"):
            page.goto(f"{url}/{path}")
            page.get_by_test_id("stMain").locator("h1").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            assert page.get_by_test_id("stException").count() == 0, path
        browser.close()
