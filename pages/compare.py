"""Compare every shipped model on the same photo (the photo on top, each model's answer and risk side by side),
then their held-out figures, and how to train the study's other networks."""

from __future__ import annotations

import streamlit as st

from champy import card_sections as sections
from champy.errors import ChampyError, ModelLoadError
from champy.inference import available_models
from champy.scoring.percent import probability_text
from champy_app import responsive_table, risk_style, support


def show_training_instructions(shipped_backbones: set[str]) -> None:
    """How to produce the study's networks that are not in `models/`, folded away at the bottom of the page."""
    missing = {
        backbone: name for backbone, name in support.STUDY_BACKBONES.items() if backbone not in shipped_backbones
    }
    if not missing:
        return
    with st.expander(f"Train the study's other networks ({', '.join(missing.values())})"):
        st.markdown(
            "Train them with the notebook `notebooks/02_train.ipynb` or the command line (PHOTOS: a labelled photo "
            "folder, e.g. one built by `champy dataset build`); each run writes the model and its card into "
            "`models/`, where this page finds it."
        )
        st.code(
            "\n".join(
                f"python -m champy train --data PHOTOS --backbone {backbone} --out models/{backbone}_species.h5"
                for backbone in missing
            ),
            language="bash",
            wrap_lines=True,
        )


def show_model_column(column, name: str, result) -> None:
    """One model's answer: its risk level as a filled pill, its answer and top candidates, and its Grad-CAM."""
    edible_allowed = risk_style.shows_edible(result.risk)
    with column:
        st.markdown(f"#### {support.as_text(support.model_label(name))}")
        st.markdown(risk_style.level_pill(result.risk), unsafe_allow_html=True)
        st.markdown(f"**{support.as_text(result.answer)}** · {support.total_ms(result.timings_ms):.0f} ms")
        for candidate in result.species[:3]:
            badge = (
                support.edibility_badge(candidate.edibility)
                if edible_allowed or candidate.edibility not in ("edible", "choice")
                else ""
            )
            st.markdown(f"*{support.as_text(candidate.name)}* · {probability_text(candidate.probability)} {badge}")
        if result.overlay is not None:
            st.image(result.overlay, caption="Where it looked (Grad-CAM)", width=240, output_format="JPEG")


def show_agreement(results: dict) -> None:
    """One line: do the models name the same species?"""
    answers = {
        name: support.as_text(result.species[0].name if result.species else result.answer)
        for name, result in results.items()
    }
    if len(set(answers.values())) == 1:
        st.info(f"All {len(answers)} models name *{next(iter(answers.values()))}*.", icon=":material/done_all:")
    else:
        named = "; ".join(
            f"{support.as_text(support.model_label(name))}: *{answer}*" for name, answer in answers.items()
        )
        st.warning(f"The models disagree: {named}.", icon=":material/call_split:")


def identify_with_every_model(photo: list[tuple[str, bytes]], names: list[str]) -> dict:
    """Each model's identification of `photo`; a model that does not load is named and skipped."""
    results, failed = {}, {}
    for name in names:
        try:
            with st.spinner(support.waiting_message(name, f"Running {support.model_label(name)}")):
                results[name] = support.identify_photos(photo, name)
        except ModelLoadError as exc:  # one model that does not load leaves the others compared
            failed[name] = exc
    for name, exc in failed.items():
        st.caption(f"Not compared: {support.as_text(name)} could not be loaded ({support.as_text(support.brief(exc))})")
    return results


def compare_on_photo(upload, names: list[str]) -> None:
    try:
        results = identify_with_every_model(support.read_uploads([upload]), names)
    except ChampyError as exc:
        st.error(f"Cannot identify this upload: {support.as_text(exc)}", icon=":material/error:")
        return
    if not results:
        return
    photo, summary = st.columns([1, 2])
    photo.image(next(iter(results.values())).photo, caption="Your photo", width=320, output_format="JPEG")
    with summary:
        show_agreement(results)
    for column, (name, result) in zip(st.columns(len(results)), results.items()):
        show_model_column(column, name, result)


def main() -> None:
    st.title("Compare the models")
    names = available_models()
    upload = st.file_uploader("A photo of a mushroom: every model identifies it", key="compare_photo")
    if upload is None:
        st.info("Upload a photo to see every model's answer, risk and Grad-CAM side by side.")
    else:
        compare_on_photo(upload, names)

    cards = {name: support.model_card(name) for name in names}
    st.subheader("How the models score on held-out test photos")
    figures = sections.comparison_frame(cards).set_index("figure").T
    figures.index = [support.model_label(name) for name in figures.index]
    st.markdown(responsive_table.table_html(figures.rename_axis("model").reset_index()), unsafe_allow_html=True)
    st.caption(
        "Known species only: the test photos of the species a model was trained to name. All test photos: those "
        f"and the photos of species it never saw ('{sections.OTHER_CLASS}'). The model cards give the details."
    )
    show_training_instructions({card["backbone"] for card in cards.values()})


main()
