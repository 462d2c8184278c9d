"""What the pages show about danger: the risk banner, the edibility legend and the look-alike comparison.

Safety comes first on the page: the banner sits right under the photo, no answer whose risk is deadly or
poisonous gets anything green, and "edible" is only ever said as "edible if the identification is right".
"""

from __future__ import annotations

import html

import streamlit as st

from champy.edibility import lookup
from champy.edibility.advice import named
from champy.edibility.curated import references
from champy.edibility.guide import LicensedPhoto, feature_references, reference_photos, species_features
from champy.inference import SpeciesCandidate
from champy.safety import Risk
from champy_app.support import EDIBILITY_STYLE, as_text, edibility_badge, percent, probability_bar, thumbnail_uri

BANNERS = {
    # level: (headline, material icon)
    "deadly": ("DEADLY: a deadly species is plausible. Do not eat it.", "skull"),
    "poisonous": ("POISONOUS: a poisonous species is plausible. Do not eat it.", "warning"),
    "uncertain": ("UNCERTAIN: no confident identification. Treat it as unknown and do not eat it.", "help"),
    "low": (
        "LOW RISK: no check found a dangerous alternative; edible only if the identification is right, "
        "which only an expert with the specimen in hand can confirm.",
        "info",
    ),
}
MAX_LOOKALIKES = 3


def risk_banner(risk: Risk | None, reasons: bool = True) -> None:
    """The banner for a risk level: red DEADLY, orange POISONOUS, grey UNCERTAIN, blue LOW (never green)."""
    if risk is None:
        st.warning("Risk not assessed for this answer: treat it as unknown.", icon=":material/help:")
        return
    headline, icon = BANNERS[risk.level]
    body = f"**{headline}**"
    if reasons and risk.reasons:
        body += "\n\n" + "\n".join(f"- {as_text(reason)}" for reason in risk.reasons)
    if risk.level == "deadly":
        st.error(body, icon=f":material/{icon}:")
    elif risk.level == "poisonous":
        with st.container(border=True):
            st.badge("POISONOUS", icon=f":material/{icon}:", color="orange")
            st.markdown(body)
    elif risk.level == "uncertain":
        with st.container(border=True):
            st.badge("UNCERTAIN", icon=f":material/{icon}:", color="gray")
            st.markdown(body)
    else:
        st.info(body, icon=f":material/{icon}:")


def edibility_legend() -> None:
    """What each bar and badge colour means."""
    st.caption("Colours: " + " ".join(edibility_badge(status) for status in EDIBILITY_STYLE))


def _lookalikes(species: str, risk: Risk | None) -> list[str]:
    """The dangerous species to compare with: those the risk found plausible, then the table's toxic look-alikes."""
    found = list(risk.dangerous_species) if risk else []
    names = [name for name in dict.fromkeys(found + list(lookup(species).toxic_lookalikes)) if name != species]
    danger = {"deadly": 0, "poisonous": 1}
    names = [name for name in names if lookup(name).status in danger]
    covered = sorted(
        names, key=lambda name: (danger[lookup(name).status], not species_features(name) and not reference_photos(name))
    )
    return covered[:MAX_LOOKALIKES]


def attribution(photo: LicensedPhoto) -> str:
    """The credit a licensed photo must carry: author, licence and its Commons page (markdown)."""
    return f"Photo: {as_text(photo.author)}, {as_text(photo.licence)}, [Wikimedia Commons]({photo.source_page})"


def candidate_row(candidate: SpeciesCandidate) -> str:
    """Markdown (with inline HTML) for one candidate species: the reference thumbnail with its credit where a
    licensed photo exists (an empty square otherwise, so the rows line up), the name, calibrated probability and
    edibility badge, and a bar coloured by edibility."""
    colour = EDIBILITY_STYLE.get(candidate.edibility, EDIBILITY_STYLE["unknown"])[3]
    line = f"*{as_text(candidate.name)}* · {percent(candidate.probability)} {edibility_badge(candidate.edibility)}"
    photos = reference_photos(candidate.name)
    square = "width:3.5rem;height:3.5rem;flex:none;border-radius:4px"
    if photos:
        thumbnail = (
            f'<img src="{thumbnail_uri(photos[0].path)}" alt="Reference photo of {html.escape(candidate.name)}" '
            f'style="{square};object-fit:cover">'
        )
        credit = f"\n\n<small>{attribution(photos[0])}</small>"
    else:
        thumbnail, credit = f'<div title="No licensed reference photo" style="{square};background:#f0f2f6"></div>', ""
    return (
        f'<div style="display:flex;gap:0.6rem;align-items:flex-start;margin-bottom:0.5rem">\n{thumbnail}\n'
        f'<div style="flex:1;min-width:0">\n\n{line}\n\n{probability_bar(candidate.probability, colour)}{credit}\n\n'
        "</div></div>"
    )


def _species_card(species: str) -> None:
    st.markdown(f"**{as_text(named(species))}**")
    st.markdown(edibility_badge(lookup(species).status))
    photos = reference_photos(species)
    if photos:
        st.image(str(photos[0].path), width="stretch")
        st.caption(attribution(photos[0]))
    else:
        st.caption("No licensed reference photo.")
    features = species_features(species)
    if features:
        st.markdown("\n".join(f"- **{label}**: {as_text(text)}" for label, text in features.items()))
    else:
        st.caption("Not in the field guide.")


def lookalike_comparison(species: str, risk: Risk | None) -> None:
    """The candidate beside each dangerous look-alike: reference photos and the features that tell them apart."""
    others = _lookalikes(species, risk)
    if not others:
        return
    level = risk.level if risk else "unassessed"
    comparison = st.expander(
        f"Compare {as_text(species)} with its dangerous look-alikes",
        expanded=level in ("deadly", "poisonous"),
        icon=":material/compare_arrows:",
        key=f"lookalikes {species} {level}",  # each answer opens as its risk says, whatever was done to the last one
        on_change="rerun",
    )
    if not comparison.open:
        return  # drawn when opened: its photos cost a closed panel nothing
    with comparison:
        st.caption(
            "Check every feature on the specimen itself; a photo rarely shows the base of the stem, "
            "the spore print or the smell."
        )
        for column, name in zip(st.columns(1 + len(others)), [species, *others]):
            with column:
                _species_card(name)
        keys = dict.fromkeys(key for name in [species, *others] for key in feature_references(name))
        citations = references()
        if keys:
            st.caption("Sources: " + " ".join(as_text(citations.get(key, key)) for key in keys))
