"""Property-based fuzzing of image decoding and Darwin Core Archive parsing with mutated real files (brief runs)."""

from __future__ import annotations

from fuzz_targets import (
    check_archive_opening,
    check_image_decoding,
    check_meta_parsing,
    mutated_archives,
    mutated_images,
    mutated_metas,
)
from hypothesis import HealthCheck, given, settings

BRIEF = settings(
    max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@BRIEF
@given(mutated_images())
def test_mutated_images_decode_or_give_bad_image_error(data: bytes) -> None:
    check_image_decoding(data)


@BRIEF
@given(mutated_metas())
def test_mutated_meta_xml_parses_or_gives_archive_error(data: bytes) -> None:
    check_meta_parsing(data)


@BRIEF
@given(mutated_archives())
def test_mutated_archives_open_or_give_archive_error(data: bytes) -> None:
    check_archive_opening(data)
