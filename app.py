"""Champy's Streamlit app (`streamlit run app.py`): the Identify page, home of the navigation to the other pages."""

from __future__ import annotations

import streamlit as st

from champy.edibility import DISCLAIMER, lookup
from champy.errors import ChampyError
from champy.images import MAX_PHOTOS
from champy.inference import DEFAULT_MODEL, available_models, unavailable_models
from champy.occurrence_map import map_caption, occurrence_figure, plotly_config
from champy_app import safety as app_safety
from champy_app import support

st.set_page_config(page_title="Champy", page_icon="🍄", layout="wide")
support.keep_keras_session()
support.start_warm_up(DEFAULT_MODEL)


def choose_model() -> str:
    """The model chooser at the top of the page (reachable on a phone), on the shipped default unless changed."""
    names = available_models()
    if not names:
        st.error("No model is installed: put a model (`.h5` and its `.json` card) in `models/`.")
        st.stop()
    default = names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0
    chooser, _ = st.columns([1, 2])
    choice = chooser.selectbox(
        "Model", names, index=default, key="model", help="The network that identifies the photo."
    )
    for reason in unavailable_models().values():
        chooser.caption(f"Not offered: {support.as_text(support.brief(reason))}")
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


def verdict_card(result) -> None:
    """The answer: species with its common name, calibrated confidence and edibility, or why there is none."""
    if result.verdict == "not_a_mushroom":
        st.markdown("### This does not look like a mushroom")
        st.write(
            f"Mushroom probability {support.percent(result.mushroom_probability)}. "
            "Upload a clear photo of the fruiting body."
        )
        return
    top = result.species[0] if result.species else None
    if result.verdict == "unknown":
        st.markdown(f"### Not confident: {support.as_text(result.answer)}")
        st.write("It may be a species this model does not know.")
        if top:
            st.markdown(
                f"Best guess: *{support.as_text(top.name)}* · {support.percent(top.probability)} "
                "(calibrated probability)"
            )
        return
    st.markdown(f"### *{support.as_text(top.name)}*")
    common = lookup(top.name).common_name.split(";")[0].strip()
    if common:
        st.markdown(f"**{support.as_text(common)}**")
    st.markdown(
        f"Confidence: **{support.percent(top.probability)}** (calibrated probability of this species) · "
        f"genus *{support.as_text(top.genus)}*"
    )
    st.markdown(support.edibility_badge(top.edibility))


def show_verdict(result) -> None:
    """The photo and the answer side by side, the risk banner right under them, then the look-alikes."""
    photo, card = st.columns([1, 2])
    photo.image(result.photo, caption="Your photo", width="stretch", output_format="JPEG")
    with card:
        verdict_card(result)
    app_safety.risk_banner(result.risk)
    dangerous = result.risk is not None and result.risk.level in ("deadly", "poisonous")
    if result.species and (result.verdict != "not_a_mushroom" or dangerous):
        app_safety.lookalike_comparison(result.species[0].name, result.risk)


def show_candidates(result) -> None:
    """The candidate species (thumbnail, probability bar, edibility) beside the genus roll-up."""
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Most likely species** (calibrated probability)")
        for candidate in result.species:
            st.markdown(app_safety.candidate_row(candidate), unsafe_allow_html=True)
        app_safety.edibility_legend()
        for warning in result.warnings:
            st.caption(f":material/warning: {support.as_text(warning)}")
    with right:
        st.markdown("**Genus** (its species' probabilities added up)")
        st.markdown(support.genus_table(result.genus))


def show_explanation(result) -> None:
    """Where the model looked (Grad-CAM), for photos that were identified as mushrooms."""
    if result.overlay is None:
        return
    heatmap, _ = st.columns([1, 1])
    heatmap.image(result.overlay, caption=support.RESULT_CAPTION, width="stretch", output_format="JPEG")
    heatmap.markdown(support.HEAT_SCALE_HTML, unsafe_allow_html=True)
    if len(result.overlays) > 1:
        st.caption("Where the model looked in your other photos")
        for column, other in zip(st.columns(len(result.overlays) - 1), result.overlays[1:]):
            column.image(other, width="stretch", output_format="JPEG")


def show_map(species: str, model_name: str) -> None:
    st.subheader(f"Where *{species}* has been recorded")
    occurrences = support.cached_occurrences(species, support.occurrence_snapshot(model_name))
    if occurrences.count == 0:
        st.info(
            f"**No occurrence records of *{species}* to map.** {support.as_text(occurrences.notice or '')} "
            f"See [*{species}* on GBIF]({occurrences.gbif_url}) for where it has been recorded.",
            icon=":material/travel_explore:",
        )
        return
    st.plotly_chart(
        occurrence_figure(occurrences, titled=False), config=plotly_config(), width="stretch", key="occurrence_map"
    )
    notice = f"  \n{support.as_text(occurrences.notice)}" if occurrences.notice else ""
    st.caption(f"{map_caption(occurrences)} · [{species} on GBIF]({occurrences.gbif_url}){notice}")


def identify_page() -> None:
    """Upload photos of one mushroom: what it probably is, how sure, how dangerous, why, and where it grows."""
    st.title("Identify a mushroom")
    st.warning(DISCLAIMER, icon=":material/health_and_safety:")
    model_name = choose_model()
    photos = collect_photos()
    if not photos:
        st.info("Upload one or more photos of the same mushroom to identify it.")
        return
    try:
        with st.spinner("Identifying…"):
            result = support.identify_photos(support.read_uploads(photos), model_name)
    except ChampyError as exc:
        st.error(f"Cannot identify this upload: {support.as_text(exc)}", icon=":material/error:")
        return
    show_verdict(result)
    if result.verdict != "not_a_mushroom":
        show_candidates(result)
    show_explanation(result)
    details = st.expander("Details", key="details", on_change="rerun")
    if details.open:
        details.write(f"Model `{model_name}` · {len(photos)} photo(s) · {support.total_ms(result.timings_ms):.0f} ms")
        details.json(result.to_dict(), expanded=False)
    if result.verdict != "not_a_mushroom" and result.species:
        show_map(result.species[0].name, model_name)


st.navigation(
    [
        st.Page(identify_page, title="Identify", icon=":material/search:", default=True),
        st.Page("pages/compare.py", title="Compare models", icon=":material/compare:"),
        st.Page("pages/model_cards.py", title="Model cards", icon=":material/analytics:"),
        st.Page("pages/dataset.py", title="Dataset", icon=":material/photo_library:"),
    ]
).run()
