"""Champy's Streamlit app (`streamlit run app.py`): the Identify page, home of the navigation to the other pages."""

from __future__ import annotations

import html

import streamlit as st

from champy import card_sections as sections
from champy.errors import ChampyError
from champy.images import MAX_PHOTOS
from champy.inference import DEFAULT_MODEL, available_models, unavailable_models
from champy.occurrence_map import map_caption, occurrence_figure, plotly_config
from champy.scoring.percent import probability_text
from champy_app import answer_card, candidates, photo_grid, risk_style, support, wording
from champy_app import safety as app_safety

st.set_page_config(page_title="Champy", page_icon="🍄", layout="wide")
support.keep_keras_session()
support.start_warm_up(DEFAULT_MODEL)


def choose_model() -> str:
    """The model chooser, folded in the page's advanced section, on the shipped default unless changed."""
    names = available_models()
    if not names:
        st.error("No model is installed: put a model (`.h5` and its `.json` card) in `models/`.")
        st.stop()
    advanced = st.expander("Advanced: which model answers", icon=":material/tune:")
    choice = support.model_select(
        advanced,
        names,
        key="model",
        help="The network that identifies the photo. The default combines three networks and is the most reliable.",
    )
    for reason in unavailable_models().values():
        advanced.caption(f"Not offered: {support.as_text(support.brief(reason))}")
    return choice


def collect_photos() -> list:
    """The photos of one specimen: uploaded files and, when switched on, a camera shot."""
    uploads = st.file_uploader(
        f"Photos of one mushroom, up to {MAX_PHOTOS} (several angles help: cap, gills, stem)",
        accept_multiple_files=True,
        key="photos",
    )
    photos = list(uploads or [])
    if st.toggle("Use the camera", key="use_camera"):
        shot = st.camera_input("Take a photo", key="camera")
        if shot is not None:
            photos.append(shot)
    return photos


def show_candidates(result, model_name: str) -> None:
    """The species Champy considered, 'a species Champy does not know' among them, and which species it knows."""
    st.markdown("**What it could be** (calibrated probability)")
    edible_allowed = risk_style.shows_edible(result.risk)
    known = [name for name in sections.class_names(support.model_card(model_name)) if name != sections.OTHER_CLASS]
    genera = ", ".join(f"<i>{html.escape(g.name)}</i> {probability_text(g.probability)}" for g in result.genus[:3])
    st.markdown(
        candidates.candidates_html(result, edible_allowed)
        + f'<p style="font-size:0.9rem">By genus: {genera}</p>'
        + candidates.known_species_html(known),
        unsafe_allow_html=True,
    )


def show_map(species: str, model_name: str) -> None:
    """Where the species has been recorded; one line with the GBIF link when there is nothing to map."""
    occurrences = support.cached_occurrences(species, support.occurrence_snapshot(model_name))
    if occurrences.count == 0:
        offline = "GBIF cannot be reached and no saved records" if occurrences.source == "none" else "no records"
        st.caption(
            f":material/travel_explore: No map: {offline} of *{support.as_text(species)}*. "
            f"[See it on GBIF]({occurrences.gbif_url})"
        )
        return
    st.markdown(f"**Where *{support.as_text(species)}* has been recorded**")
    st.plotly_chart(
        occurrence_figure(occurrences, titled=False), config=plotly_config(), width="stretch", key="occurrence_map"
    )
    notice = f"  \n{support.as_text(occurrences.notice)}" if occurrences.notice else ""
    st.caption(f"{map_caption(occurrences)} · [{support.as_text(species)} on GBIF]({occurrences.gbif_url}){notice}")


def show_result(result, model_name: str) -> None:
    """Everything under the answer card: the candidates, the photos with Grad-CAM, the look-alikes and the map."""
    if result.verdict != "not_a_mushroom":
        show_candidates(result, model_name)
    st.markdown(photo_grid.grid_html(result), unsafe_allow_html=True)
    dangerous = risk_style.is_dangerous(result.risk)
    if result.species and (result.verdict != "not_a_mushroom" or dangerous):
        app_safety.lookalike_comparison(result.species[0].name, result.risk)
    if result.verdict != "not_a_mushroom" and result.species:
        show_map(result.species[0].name, model_name)


def identify_page() -> None:
    """Upload photos of one mushroom: the answer card first (what it is, how sure, how dangerous), then the detail."""
    st.markdown("### Identify a mushroom")
    st.caption(f":material/health_and_safety: {wording.SHORT_DISCLAIMER}")
    card = st.container(key="answer")
    photos = collect_photos()
    rest = st.container()
    model_name = choose_model()
    if not photos:
        card.info("Upload one or more photos of the same mushroom to identify it.")
        return
    try:
        with card, st.spinner(support.waiting_message(model_name)):
            result = support.identify_photos(support.read_uploads(photos), model_name)
    except ChampyError as exc:
        card.error(f"Cannot identify this upload: {support.as_text(exc)}", icon=":material/error:")
        return
    card.markdown(answer_card.card_html(result), unsafe_allow_html=True)
    with rest:
        show_result(result, model_name)
    details = st.expander("Details", key="details", on_change="rerun")
    if details.open:
        details.caption(
            f"Answered by {support.model_label(model_name)} · "
            f"{len(photos)} photo(s) · {support.total_ms(result.timings_ms):.0f} ms"
        )


PAGES = [
    st.Page(identify_page, title="Identify", icon=":material/search:", default=True),
    st.Page("pages/compare.py", title="Compare models", icon=":material/compare:"),
    st.Page("pages/model_cards.py", title="Model cards", icon=":material/analytics:"),
    st.Page("pages/dataset.py", title="Dataset", icon=":material/photo_library:"),
]
current = st.navigation(PAGES, position="hidden")  # no drawer: on a phone it stayed open over the page after a tap
with st.container(horizontal=True, gap="small", key="page_links"):
    for page in PAGES:
        st.page_link(page, width="content")
current.run()
