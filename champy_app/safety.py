"""What the pages show about danger: the risk banner, the edibility legend and the look-alike comparison.

Safety comes first on the page: the banner sits right under the photo, no answer whose risk is deadly or
poisonous gets anything green, and "edible" is only ever said as "edible if the identification is right".
"""

from __future__ import annotations

import streamlit as st

from champy.edibility import lookup
from champy.edibility.advice import named
from champy.edibility.curated import references
from champy.edibility.guide import LicensedPhoto, feature_references, reference_photos, species_features
from champy.safety import Risk
from champy_app.support import EDIBILITY_STYLE, as_text, edibility_badge

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


def candidate_line(name: str, probability: str, badge: str) -> None:
    """One candidate species: a reference thumbnail with its credit where a licensed photo exists, then the line."""
    line = f"*{as_text(name)}* · {probability} {badge}"
    photos = reference_photos(name)
    if not photos:
        st.markdown(line)
        return
    thumb, text = st.columns([1, 3], vertical_alignment="center")
    thumb.image(str(photos[0].path), width="stretch")
    text.markdown(line)
    text.caption(attribution(photos[0]))


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
    open_it = bool(risk and risk.level in ("deadly", "poisonous"))
    with st.expander(
        f"Compare {as_text(species)} with its dangerous look-alikes", expanded=open_it, icon=":material/compare_arrows:"
    ):
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
