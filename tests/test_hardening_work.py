"""Work bounded per photo and per server: crafted photos refused before decoding, decodes held by their bytes,
identifications in flight shared and capped, a request's photos decoded once (issue 29)."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from crafted_photos import chunk_stuffed_png, scan_bomb_jpeg
from locations import BOLETUS_PHOTO
from PIL import Image

from champy.decode_budget import MAX_JPEG_SCANS, structure_problem
from champy.errors import BadImageError
from champy.fair_slots import Abandoned, FairSlots
from champy.images import check_request, load_image
from champy.inference import available_models
from champy.result_cache import ResultCache
from champy_app import support

MEMORY_GOAL_MB = 600
"""Issue 19's bound: what one request's photos may add to the server at peak."""


def _resident_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024


def test_a_scan_bomb_and_a_chunk_stuffed_png_are_refused_in_well_under_a_second():
    crafted = {
        "bomb.jpg": (scan_bomb_jpeg(), f"a JPEG of more than {MAX_JPEG_SCANS} scans"),
        "stuffed.png": (chunk_stuffed_png(), "a PNG of more than"),
    }
    for name, (data, reason) in crafted.items():
        start = time.process_time()
        with pytest.raises(BadImageError, match=f"{name}: refused without decoding: {reason}"):
            load_image(data, name=name, draft_size=448)
        with pytest.raises(BadImageError, match=reason):
            check_request([("cep.jpg", BOLETUS_PHOTO.read_bytes()), (name, data)])
        assert time.process_time() - start < 1.0, name


def test_what_cameras_write_passes_the_budget():
    """A progressive JPEG at the scan limit decodes, one scan more is refused; ordinary photos pass."""
    at_limit = scan_bomb_jpeg(MAX_JPEG_SCANS, size=(400, 300))
    assert at_limit.count(b"\xff\xda") == MAX_JPEG_SCANS and structure_problem(at_limit) is None
    assert load_image(at_limit).size == (400, 300)
    assert "more than 32 scans" in structure_problem(scan_bomb_jpeg(MAX_JPEG_SCANS + 1, size=(400, 300)))
    photo = Image.open(BOLETUS_PHOTO)
    for options in ({"format": "JPEG", "progressive": True}, {"format": "JPEG"}, {"format": "PNG"}):
        encoded = io.BytesIO()
        photo.save(encoded, **options)
        assert structure_problem(encoded.getvalue()) is None, options
    assert structure_problem(chunk_stuffed_png(chunks=100)) is None  # a few ancillary chunks are fine


def test_junk_between_segments_does_not_hide_a_scan_bomb():
    """libjpeg skips stray bytes before a marker and reads on past a length under 2: so does the count."""
    bomb = scan_bomb_jpeg(300, size=(400, 300))
    app0_end = 4 + int.from_bytes(bomb[4:6], "big")
    junk = bomb[:app0_end] + b"\x00\x17" + bomb[app0_end:]
    short_length = bomb[:app0_end] + b"\xff\xe5\x00\x01" + bomb[app0_end:]
    for crafted in (junk, short_length):
        assert "more than 32 scans" in structure_problem(crafted)


def test_decode_slots_hold_bytes_and_serve_in_arrival_order():
    slots = FairSlots(100)
    order, waits = [], []
    first = slots.hold(60)
    first.__enter__()

    def later(name: str, size: int) -> None:
        with slots.hold(size, on_wait=lambda ahead: waits.append((name, ahead))):
            order.append(name)

    big = threading.Thread(target=later, args=("big", 60))
    big.start()
    while not waits:
        time.sleep(0.01)
    small = threading.Thread(target=later, args=("small", 10))  # it would fit now, but "big" came first
    small.start()
    small.join(0.3)
    assert order == [] and waits == [("big", 0), ("small", 1)] and slots.held == 60
    first.__exit__(None, None, None)
    big.join(5), small.join(5)
    assert order == ["big", "small"] and slots.held == 0
    with slots.hold(500):  # larger than the whole budget: it runs, alone
        assert slots.held == 500


def test_a_waiter_whose_session_has_gone_is_dropped_and_its_turn_passes_on():
    slots = FairSlots(1)
    gone, outcome = threading.Event(), []

    def waiter() -> None:
        try:
            with slots.hold(1, gone=gone.is_set):
                outcome.append("ran")
        except Abandoned:
            outcome.append("dropped")

    with slots.hold(1):
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.1)
        gone.set()  # the browser tab closes while the identification waits
        thread.join(5)
        assert outcome == ["dropped"]
    with slots.hold(1):  # nothing was left holding a turn
        assert slots.held == 1


def test_a_value_in_flight_is_computed_once_for_every_caller():
    cache: ResultCache[str] = ResultCache(max_bytes=1000, ttl_s=60, size_of=len)
    release, calls, answers = threading.Event(), [], []

    def compute() -> str:
        calls.append(1)
        release.wait(5)
        return "answer"

    callers = [threading.Thread(target=lambda: answers.append(cache.get_or_compute("k", compute))) for _ in range(20)]
    for caller in callers:
        caller.start()
    while cache.in_flight == 0:
        time.sleep(0.01)
    time.sleep(0.2)
    release.set()
    for caller in callers:
        caller.join(5)
    assert len(calls) == 1 and answers == ["answer"] * 20 and cache.in_flight == 0


def test_an_error_reaches_every_waiter_and_a_stopped_computation_is_taken_over():
    cache: ResultCache[str] = ResultCache(max_bytes=1000, ttl_s=60, size_of=len)
    started, release, seen = threading.Event(), threading.Event(), []

    def failing() -> str:
        started.set()
        release.wait(5)
        raise BadImageError("cep.jpg: not an image")

    def waiter() -> None:
        try:
            cache.get_or_compute("bad", lambda: "never")
        except BadImageError as exc:
            seen.append(str(exc))

    owner = threading.Thread(target=lambda: pytest.raises(BadImageError, cache.get_or_compute, "bad", failing))
    owner.start(), started.wait(5)
    other = threading.Thread(target=waiter)
    other.start()
    time.sleep(0.1)
    release.set()
    owner.join(5), other.join(5)
    assert seen == ["cep.jpg: not an image"] and len(cache) == 0

    class Stopped(BaseException):  # what Streamlit raises in a script run it stops
        pass

    started.clear()
    stopped = threading.Event()

    def stopping() -> str:
        started.set()
        stopped.wait(5)
        raise Stopped

    owner = threading.Thread(target=lambda: pytest.raises(Stopped, cache.get_or_compute, "k", stopping))
    owner.start(), started.wait(5)
    results = []
    other = threading.Thread(target=lambda: results.append(cache.get_or_compute("k", lambda: "computed again")))
    other.start()
    time.sleep(0.1)
    stopped.set()
    owner.join(5), other.join(5)
    assert results == ["computed again"]


@pytest.fixture
def counted_identifications(monkeypatch):
    """Count the identifications the app runs, and the most running at once."""
    counts = {"calls": 0, "running": 0, "most": 0, "decodes": 0}
    lock = threading.Lock()
    identify, decode = support.identify_specimen, support.load_image

    def counting(*args, **kwargs):
        with lock:
            counts["calls"] += 1
            counts["running"] += 1
            counts["most"] = max(counts["most"], counts["running"])
        try:
            return identify(*args, **kwargs)
        finally:
            with lock:
                counts["running"] -= 1

    def counting_decode(*args, **kwargs):
        counts["decodes"] += 1
        return decode(*args, **kwargs)

    monkeypatch.setattr(support, "identify_specimen", counting)
    monkeypatch.setattr(support, "load_image", counting_decode)
    support.IDENTIFICATIONS.clear(), support.DECODED.clear()
    return counts


def _large_photo(shade: int) -> bytes:
    encoded = io.BytesIO()
    photo = Image.open(BOLETUS_PHOTO).convert("RGB").point(lambda value: min(255, value + shade))
    photo.resize((4000, 3000), Image.Resampling.BILINEAR).save(encoded, format="JPEG", quality=85)
    return encoded.getvalue()


def test_twenty_rapid_reruns_run_one_identification_within_the_memory_bound(counted_identifications):
    """20 reruns of one session (or 20 sessions) asking for the same 8 photos of 12 MP while they are identified."""
    photos = [(f"view {i}.jpg", _large_photo(i)) for i in range(8)]
    support.cached_model(available_models()[0])  # loaded beforehand: the bound is on the photos' work
    before = _resident_mb()
    results = []
    model = available_models()[0]
    reruns = [
        threading.Thread(target=lambda: results.append(support.identify_photos(photos, model))) for _ in range(20)
    ]
    for rerun in reruns:
        rerun.start()
        time.sleep(0.01)
    for rerun in reruns:
        rerun.join(300)
    assert len(results) == 20 and all(result is results[0] for result in results)
    assert counted_identifications["calls"] == 1 and counted_identifications["decodes"] == 8
    assert _resident_mb() - before < MEMORY_GOAL_MB


def test_at_most_two_identifications_run_at_once_and_the_others_are_told_they_wait(
    counted_identifications, monkeypatch
):
    notices = []
    monkeypatch.setattr(support, "waiting_notice", lambda place, ahead: notices.append(ahead))
    name = available_models()[0]
    support.cached_model(name)
    sessions = [
        threading.Thread(target=support.identify_photos, args=([(f"{i}.jpg", _large_photo(10 + i))], name))
        for i in range(5)
    ]
    for session in sessions:
        session.start()
    for session in sessions:
        session.join(300)
    assert counted_identifications["calls"] == 5 and counted_identifications["most"] == support.MAX_IDENTIFICATIONS
    assert notices and min(notices) == 0


def test_an_identification_whose_session_has_gone_stops_decoding_and_another_takes_it_over(
    counted_identifications, monkeypatch
):
    photos = [(f"view {i}.jpg", _large_photo(30 + i)) for i in range(8)]
    name = available_models()[0]
    support.cached_model(name)
    # the browser tab closes once the first photo is decoded
    monkeypatch.setattr(support, "session_gone", lambda: lambda: counted_identifications["decodes"] >= 1)
    assert support.identify_photos(photos, name) is None  # stopped (outside a page run, st.stop() returns)
    assert counted_identifications["decodes"] == 1 and counted_identifications["calls"] == 0
    assert support.IDENTIFYING.held == 0 and support.IDENTIFICATIONS.in_flight == support.DECODED.in_flight == 0
    monkeypatch.setattr(support, "session_gone", lambda: lambda: False)
    result = support.identify_photos(photos, name)  # another session with the same photos: nothing was kept
    assert result is not None and len(result.overlays) == len(photos)
    assert counted_identifications["decodes"] == 1 + len(photos) and counted_identifications["calls"] == 1


def test_the_compare_page_decodes_a_photo_once_for_every_model(counted_identifications):
    photo = [("cep.jpg", _large_photo(20))]
    names = available_models()
    results = [support.identify_photos(photo, name) for name in names]
    assert len({result.model for result in results}) == len(names) > 1
    assert counted_identifications["calls"] == len(names) and counted_identifications["decodes"] == 1
