"""What the pages show about dangerous look-alikes: the candidate beside each, with photos and telling features.

No answer whose risk is deadly or poisonous is shown "edible" anywhere near it, nothing is green, and "edible" is
only ever said as "edible if the identification is right".
"""

from __future__ import annotations

import streamlit as st

from champy.edibility import lookup
from champy.edibility.advice import named
from champy.edibility.curated import references
from champy.edibility.guide import LicensedPhoto, feature_references, reference_photos, species_features
from champy.safety import Risk
from champy_app.risk_style import is_dangerous, shows_edible
from champy_app.support import as_text, edibility_badge

MAX_LOOKALIKES = 3


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


def _species_card(species: str, edible_allowed: bool) -> None:
    st.markdown(f"**{as_text(named(species))}**")
    status = lookup(species).status
    if edible_allowed or status not in ("edible", "choice"):
        st.markdown(edibility_badge(status))
    photos = reference_photos(species)
    if photos:
        st.image(str(photos[0].path), width=320)  # a column's width on a desktop, not a whole phone screen
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
        expanded=is_dangerous(risk),
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
                _species_card(name, shows_edible(risk))
        keys = dict.fromkeys(key for name in [species, *others] for key in feature_references(name))
        citations = references()
        if keys:
            st.caption("Sources: " + " ".join(as_text(citations.get(key, key)) for key in keys))
