"""The credits shown with licensed photos: decoded right (no mojibake from the source manifest), and every candidate
species either has a credited licensed photo (author, licence, source page) or none at all."""

from __future__ import annotations

import re

import pytest

from champy import card_sections as sections
from champy.inference import DEFAULT_MODEL, read_model_card
from champy.photo_gallery import GALLERY_FOLDERS, read_catalogue
from champy_app.candidates import candidate_photo, credit_html

GARBLED = re.compile("\ufffd|ï¿½|Ã[\u0080-\u00bf]")
"""A replacement character, or UTF-8 read as Latin-1 (what the source manifest did to accented names)."""


@pytest.mark.parametrize("folder", GALLERY_FOLDERS, ids=lambda folder: folder.name)
def test_no_credit_is_garbled(folder) -> None:
    catalogue = read_catalogue(folder)
    assert len(catalogue) > 100
    for column in ("author", "license"):
        garbled = [value for value in catalogue[column] if GARBLED.search(value)]
        assert not garbled, (folder, column, sorted(set(garbled)))


def test_the_garbled_names_are_spelled_as_their_photographers_do() -> None:
    authors = set(read_catalogue(GALLERY_FOLDERS[0])["author"])
    assert {"Dušan", "Paul Vézina"} <= authors


def test_every_known_species_has_a_credited_photo_or_none() -> None:
    card = read_model_card(DEFAULT_MODEL)
    known = [name for name in sections.class_names(card) if name != sections.OTHER_CLASS]
    with_photo = 0
    for species in known:
        photo = candidate_photo(species)
        if photo is None:
            continue
        with_photo += 1
        assert photo.path.is_file() and photo.author and photo.licence, species
        credit = credit_html(photo)
        assert re.fullmatch(
            r'<small>Photo: .+, .+, <a href="https://[^"]+" .+>(Wikimedia Commons|Mushroom Observer)</a></small>',
            credit,
        ), credit
    assert with_photo >= 8  # the sample photos fill in for the species without a reference photo where they can


def test_a_credit_is_escaped_and_links_only_to_web_pages() -> None:
    photo = candidate_photo("Boletus edulis")
    hostile = type(photo)(photo.species, photo.path, "<b>Eve</b>", "CC BY 4.0", "javascript:alert(1)")
    credit = credit_html(hostile)
    assert "&lt;b&gt;Eve&lt;/b&gt;" in credit and "javascript" not in credit and "<a " not in credit
