"""The candidate list under the answer: each species Champy considered, "a species Champy does not know" among them
at its probability, each with a credited licensed photo or a plain "no photo", as one HTML block."""

from __future__ import annotations

import functools
import html
from urllib.parse import urlparse

from champy.edibility import lookup
from champy.edibility.guide import LicensedPhoto, reference_photos
from champy.inference import Identification
from champy.photo_gallery import licensed_photos
from champy.scoring.percent import probability_text
from champy_app.answer_card import UNKNOWN_SPECIES
from champy_app.support import EDIBILITY_STYLE, probability_bar, thumbnail_uri

SOURCE_NAMES = {"commons.wikimedia.org": "Wikimedia Commons", "mushroomobserver.org": "Mushroom Observer"}
BAR_COLOUR = "#8c4b1f"
TILE = "width:3.5rem;height:3.5rem;flex:none;border-radius:4px"


@functools.cache
def _gallery_photos() -> dict[str, LicensedPhoto]:
    """The first licensed photo of each species in the shipped photo folders (sample and reference photos)."""
    firsts = licensed_photos().drop_duplicates("species")
    return {
        row.species: LicensedPhoto(row.species, row.file, row.author, row.license, row.url)
        for row in firsts.itertuples()
    }


def candidate_photo(species: str) -> LicensedPhoto | None:
    """A licensed photo of `species` to show beside it: a reference photo first, else a sample photo; None if none."""
    photos = reference_photos(species)
    return photos[0] if photos else _gallery_photos().get(species)


def credit_html(photo: LicensedPhoto) -> str:
    """'Photo: author, licence, source' with a link to the photo's page, as HTML."""
    page = photo.source_page if urlparse(photo.source_page).scheme in ("http", "https") else ""
    host = urlparse(page).hostname or ""
    source = html.escape(SOURCE_NAMES.get(host.removeprefix("www."), host or "source not recorded"))
    linked = f'<a href="{html.escape(page)}" target="_blank" rel="noopener">{source}</a>' if page else source
    author = html.escape(photo.author or "unknown photographer")
    return f"<small>Photo: {author}, {html.escape(photo.licence or 'licence not recorded')}, {linked}</small>"


def edibility_label(edibility: str, edible_allowed: bool) -> str:
    """An edibility badge as HTML; '' for an edible species when 'edible' may not be said near the answer."""
    if edibility in ("edible", "choice") and not edible_allowed:
        return ""
    label, _, _, colour = EDIBILITY_STYLE.get(edibility, EDIBILITY_STYLE["unknown"])
    return (
        f' <span style="border:1px solid {colour};color:#1a1a1a;border-radius:0.6rem;padding:0 0.4rem;'
        f'font-size:0.8rem;white-space:nowrap">{html.escape(label)}</span>'
    )


def _tile(photo: LicensedPhoto | None, name: str) -> str:
    if photo is None:
        return (
            f'<div style="{TILE};background:#f0f2f6;color:#555;font-size:0.7rem;display:flex;align-items:center;'
            'justify-content:center;text-align:center">no photo</div>'
        )
    return (
        f'<img src="{thumbnail_uri(photo.path)}" alt="Reference photo of {html.escape(name)}" '
        f'style="{TILE};object-fit:cover">'
    )


def _row(name: str, probability: float, label: str, photo: LicensedPhoto | None, known: bool) -> str:
    shown = f"<i>{html.escape(name)}</i>" if known else f"<b>{html.escape(name[:1].upper() + name[1:])}</b>"
    common = lookup(name).common_name.split(";")[0].strip() if known else ""
    common = f" ({html.escape(common)})" if common else ""
    credit = f'<div style="line-height:1.2;margin-top:0.2rem">{credit_html(photo)}</div>' if photo else ""
    return (
        f'<div data-candidate="{html.escape(name)}" style="display:flex;gap:0.6rem;align-items:flex-start;'
        f'margin-bottom:0.5rem">{_tile(photo, name)}<div style="flex:1;min-width:0">{shown}{common} · '
        f"<b>{probability_text(probability)}</b>{label}{probability_bar(probability, BAR_COLOUR)}{credit}</div></div>"
    )


def candidates_html(result: Identification, edible_allowed: bool) -> str:
    """Every candidate species and 'a species Champy does not know', likeliest first, as one HTML block."""
    rows = [
        (
            c.probability,
            _row(c.name, c.probability, edibility_label(c.edibility, edible_allowed), candidate_photo(c.name), True),
        )
        for c in result.species
    ]
    rows.append((result.other_probability, _row(UNKNOWN_SPECIES, result.other_probability, "", None, False)))
    ordered = sorted(rows, key=lambda row: -row[0])
    return (
        '<div data-testid="champyCandidates" style="max-width:48rem">' + "".join(row for _, row in ordered) + "</div>"
    )


def known_species_html(species: list[str]) -> str:
    """'Champy knows only N species', the list folded under it and a link to their photos, as HTML."""
    names = ", ".join(f"<i>{html.escape(name)}</i>" for name in species)
    return (
        f"<details><summary>Champy knows only <b>{len(species)} species</b>: any other is "
        f"{UNKNOWN_SPECIES}. Which?</summary>{names}. "
        '<a href="dataset" target="_self">Photos of each on the Dataset page</a>.</details>'
    )
