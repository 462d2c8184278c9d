"""Memory per photo does not grow with its pixel count, one request's photos are capped, the result cache is bounded."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from badinputs import png_claiming
from helpers import printed_json
from large_photos import enlarged_png
from locations import BOLETUS_PHOTO
from PIL import Image

from champy.errors import BadImageError
from champy.images import DISPLAY_SIZE, MAX_PHOTOS, MAX_REQUEST_PIXELS, check_request, load_image
from champy.inference.gradcam import overlay
from champy.result_cache import ResultCache

GOAL_MB = 600  # what a 119-MP PNG may cost at peak beyond what the process held after a 512-px photo

MARGINAL_PEAK = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from champy.inference import identify, load_model

    def status_mb(field):
        line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field + ":"))
        return int(line.split()[1]) / 1024

    model = load_model()
    identify(sys.argv[1], model)  # the ordinary photo: every graph traced, the process at its working size
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    before = status_mb("VmRSS")
    result = identify(sys.argv[2], model)
    print(json.dumps({"before": before, "peak": status_mb("VmHWM"), "photo": list(result.photo.size),
                      "overlay": list(result.overlay.shape), "verdict": result.verdict}))
    """
)


def test_a_119_megapixel_png_costs_less_than_the_goal_beyond_an_ordinary_photo(tmp_path):
    huge = enlarged_png(BOLETUS_PHOTO, 10900, 10900, tmp_path / "huge.png")  # 118.8 MP in under 1 MB
    offline = {"CHAMPY_GBIF_API": "http://127.0.0.1:9"}
    figures = printed_json(MARGINAL_PEAK, [str(BOLETUS_PHOTO), str(huge)], offline, timeout=600)
    extra_mb = figures["peak"] - figures["before"]
    # Pillow's decoded 119-MP RGB image alone takes 475 MB (4 bytes a pixel): the rest of the work adds little.
    assert 300 < extra_mb < GOAL_MB, figures
    assert max(figures["photo"]) <= DISPLAY_SIZE and max(figures["overlay"][:2]) <= DISPLAY_SIZE
    assert figures["verdict"] != "not_a_mushroom"


def test_huge_photos_of_every_kind_are_reduced_the_same_way(tmp_path):
    """Reduced decoding keeps the photo: a huge PNG gives the pixels of the photo it enlarges."""
    huge = load_image(enlarged_png(BOLETUS_PHOTO, 4480, 4480, tmp_path / "huge.png"), draft_size=448)
    assert huge.size == (448, 448)
    reference = np.asarray(Image.open(BOLETUS_PHOTO).convert("RGB").resize(huge.size, Image.Resampling.BILINEAR))
    assert np.abs(np.asarray(huge, np.float64) - reference).mean() < 8.0
    transparent = Image.new("RGBA", (4000, 3000), (10, 120, 10, 0))
    transparent.paste((10, 120, 10, 255), (0, 1500, 4000, 3000))
    transparent.save(tmp_path / "alpha.png")
    flattened = np.asarray(load_image(tmp_path / "alpha.png", draft_size=448))
    assert flattened.shape == (500, 667, 3)  # reduced by 6, the largest factor keeping both sides >= 448
    assert (flattened[:240] == 255).all() and (flattened[260:] == (10, 120, 10)).all()
    gray16 = Image.fromarray(np.full((3000, 4000), 1000, np.uint16))
    gray16.save(tmp_path / "gray16.png")
    assert (np.asarray(load_image(tmp_path / "gray16.png", draft_size=448)) == 255).all()  # scaled by its maximum


def test_overlays_are_drawn_at_display_size():
    photo = Image.new("RGB", (6000, 1500), (90, 60, 30))
    drawn = overlay(photo, np.linspace(0, 1, 49, dtype=np.float32).reshape(7, 7))
    assert drawn.shape == (DISPLAY_SIZE // 4, DISPLAY_SIZE, 3) and drawn.dtype == np.uint8
    assert overlay(Image.new("RGB", (300, 200)), np.ones((7, 7))).shape == (200, 300, 3)


def test_more_photos_or_pixels_than_one_request_may_hold_are_refused():
    photo = BOLETUS_PHOTO.read_bytes()
    check_request([(f"{i}.jpg", photo) for i in range(MAX_PHOTOS)])
    with pytest.raises(BadImageError, match=f"{MAX_PHOTOS + 1} photos chosen: at most {MAX_PHOTOS} photos"):
        check_request([(f"{i}.jpg", photo) for i in range(MAX_PHOTOS + 1)])
    bomb = png_claiming(10900, 10900, complete=False)  # headers only: 119 MP each, a few hundred bytes
    check_request([("a.png", bomb), ("b.png", bomb), ("c.png", bomb)])
    with pytest.raises(BadImageError, match=f"more than {MAX_REQUEST_PIXELS / 1e6:.0f}: choose fewer or smaller"):
        check_request([(f"{i}.png", bomb) for i in range(4)])


def test_webp_photos_keep_a_lower_pixel_limit(tmp_path):
    """WebP cannot be decoded reduced and its decoder holds a second copy: fewer pixels than PNG."""
    Image.new("RGB", (7000, 5000), (90, 60, 30)).save(tmp_path / "big.webp", lossless=True)
    with pytest.raises(BadImageError, match=r"7000 x 5000 pixels; at most 30 megapixels in WEBP"):
        load_image(tmp_path / "big.webp")
    Image.new("RGB", (6000, 4000), (90, 60, 30)).save(tmp_path / "ok.webp", lossless=True)
    assert load_image(tmp_path / "ok.webp", draft_size=448).size == (750, 500)


def test_the_result_cache_is_bounded_in_bytes_and_in_age():
    now = [0.0]
    cache: ResultCache[bytes] = ResultCache(max_bytes=100, ttl_s=60, size_of=len, clock=lambda: now[0])
    computed = []

    def value(key: str, size: int):
        return cache.get_or_compute(key, lambda: computed.append(key) or bytes(size))

    value("a", 40), value("b", 40), value("a", 40)  # "a" is now the most recently used
    assert computed == ["a", "b"] and cache.bytes == 80
    value("c", 40)  # over 100 bytes: "b", the least recently used, goes
    assert len(cache) == 2 and cache.bytes == 80
    value("a", 40)
    assert computed == ["a", "b", "c"]
    value("huge", 101)  # larger than the whole cache: answered, not kept
    assert cache.bytes == 80
    now[0] = 61.0
    assert len(cache) == 0 and cache.bytes == 0
    value("a", 40)
    assert computed[-1] == "a"
