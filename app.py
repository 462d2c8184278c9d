"""Champy's Streamlit app (`streamlit run app.py`): the Identify page, home of the navigation to the other pages."""

from __future__ import annotations

import streamlit as st

from champy import app_support as support
from champy.edibility import DISCLAIMER
from champy.errors import ChampyError
from champy.inference import DEFAULT_MODEL, available_models
from champy.occurrence_map import occurrence_figure, plotly_config

st.set_page_config(page_title="Champy", page_icon="🍄", layout="wide")
support.start_warm_up(DEFAULT_MODEL)


def choose_model() -> str:
    """The model chooser at the top of the page (reachable on a phone), on the shipped default unless changed."""
    names = available_models()
    if not names:
        st.error("No model is installed: put a model (`.h5` and its `.json` card) in `models/`.")
        st.stop()
    default = names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0
    chooser, _ = st.columns([1, 2])
    return chooser.selectbox("Model", names, index=default, key="model", help="The network that identifies the photo.")


def collect_photos() -> list:
    """The photos of one specimen: uploaded files and, when switched on, a camera shot."""
    uploads = st.file_uploader(
        "Photos of one mushroom (several angles help: cap, gills, stem)",
        accept_multiple_files=True,
        key="photos",
    )
    photos = list(uploads or [])
    if st.toggle("Use the camera", key="use_camera"):
        shot = st.camera_input("Take a photo", key="camera")
        if shot is not None:
            photos.append(shot)
    return photos


def show_verdict(result) -> None:
    if result.verdict == "not_a_mushroom":
        st.warning(
            f"**This does not look like a mushroom** ({support.percent(result.mushroom_probability)} mushroom). "
            "Upload a clear photo of the fruiting body.",
            icon=":material/block:",
        )
        return
    if result.verdict == "unknown":
        st.info(f"**Not confident: {result.answer}.** It may be a species this model does not know.", icon=":material/help:")
    else:
        st.success(f"**{result.answer}**", icon=":material/check_circle:")
    for warning in result.warnings:
        st.error(warning, icon=":material/warning:")


def show_candidates(result) -> None:
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(support.species_figure(result.species), width="stretch", key="species_chart")
    with right:
        st.markdown("**Edibility of the candidates**")
        for candidate in result.species:
            st.markdown(
                f"*{candidate.name}* · {support.percent(candidate.probability)} {support.edibility_badge(candidate.edibility)}"
            )
        st.markdown("**Genus**")
        st.dataframe(support.genus_frame(result.genus), hide_index=True, width="stretch")


def show_explanation(result) -> None:
    original, heatmap = st.columns(2)
    original.image(result.photo, caption="Your photo", width="stretch", output_format="JPEG")
    if result.overlay is not None:
        heatmap.image(result.overlay, caption=support.RESULT_CAPTION, width="stretch", output_format="JPEG")
    if len(result.overlays) > 1:
        st.caption("Where the model looked in your other photos")
        for column, other in zip(st.columns(len(result.overlays) - 1), result.overlays[1:]):
            column.image(other, width="stretch", output_format="JPEG")


def show_map(species: str, model_name: str) -> None:
    st.subheader(f"Where *{species}* has been recorded")
    occurrences = support.cached_occurrences(species, support.occurrence_snapshot(model_name))
    if occurrences.count == 0:
        st.info(
            f"**No occurrence records of *{species}* to map.** {occurrences.notice or ''} "
            f"See [*{species}* on GBIF]({occurrences.gbif_url}) for where it has been recorded.",
            icon=":material/travel_explore:",
        )
        return
    st.plotly_chart(occurrence_figure(occurrences), config=plotly_config(), width="stretch", key="occurrence_map")
    st.caption(f"[{species} on GBIF]({occurrences.gbif_url})")


def identify_page() -> None:
    """Upload photos of one mushroom and see what it probably is, how sure, why, where it grows and if it is dangerous."""
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
        st.error(f"Cannot identify this upload: {exc}", icon=":material/error:")
        return
    show_verdict(result)
    if result.verdict != "not_a_mushroom":
        show_candidates(result)
    show_explanation(result)
    with st.expander("Details"):
        st.write(f"Model `{model_name}` · {len(photos)} photo(s) · {support.total_ms(result.timings_ms):.0f} ms")
        st.json(result.to_dict(), expanded=False)
    if result.verdict != "not_a_mushroom" and result.species:
        show_map(result.species[0].name, model_name)


st.navigation(
    [
        st.Page(identify_page, title="Identify", icon=":material/search:", default=True),
        st.Page("app_pages/compare.py", title="Compare models", icon=":material/compare:"),
        st.Page("app_pages/model_cards.py", title="Model cards", icon=":material/analytics:"),
        st.Page("app_pages/dataset.py", title="Dataset", icon=":material/photo_library:"),
    ]
).run()
