"""Each shipped model's card, in the shape of a Hugging Face model card: intended use, out-of-scope use,
limitations, training data and licences, evaluation, calibration, confusions and training."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from champy import card_sections as sections
from champy.inference import available_models
from champy_app import responsive_table, support


def show_summary(name: str, card: dict) -> None:
    st.caption(
        f"{support.as_text(name)} · backbone {support.as_text(card['backbone'])} · "
        f"input {support.as_text(card['input']['size'])} px · "
        f"{len(card['labels'])} classes ({sections.known_species_count(card)} species and "
        f"'{sections.OTHER_CLASS}') · created {support.as_text(str(card.get('created', 'date not recorded'))[:10])}"
    )
    st.subheader("Intended use")
    st.markdown(sections.INTENDED_USE)
    st.subheader("Out-of-scope use")
    st.markdown(sections.OUT_OF_SCOPE)


def show_limitations(card: dict) -> None:
    st.subheader("Limitations and known dangerous confusions")
    confusions = sections.dangerous_confusions(card)
    if confusions:
        st.markdown("On the test photos, this model named these toxic species as an edible one:")
        st.markdown(
            "\n".join(
                f"- :red[**{support.as_text(c.true_name)}** ({c.true_status})] "
                f"named *{support.as_text(c.predicted_name)}* "
                f"({c.predicted_status}): "
                f"{c.photos} of its {c.support} test photos"
                for c in confusions
            )
        )
    else:
        st.markdown("No test photo of a toxic species was named as an edible one (see the matrix below).")
    st.markdown(
        f"- It knows only {sections.known_species_count(card)} species; deadly look-alikes it was not trained on "
        "(e.g. *Amanita phalloides*, *Galerina marginata*) can be named as one of them.\n"
        "- Few test photos for most species (see the split): their per-class figures are rough.\n"
        "- Photos come mostly from Europe and North America, taken by hobbyists in daylight."
    )


def show_training_data(card: dict) -> None:
    st.subheader("Training data and licences")
    data, split = card.get("data", {}), card.get("split", {})
    weights = card.get("weights", {})
    licence = sections.WEIGHTS_LICENCES.get(card["backbone"]) or support.as_text(weights.get("requested", "?"))
    st.markdown(
        f"- **Photos:** {support.as_text(data.get('images_used', '?'))} of "
        f"{support.as_text(data.get('images_in_source', '?'))} in {support.as_text(data.get('source', '?'))}. "
        f"{sections.TRAINING_PHOTOS_LICENCE}\n"
        f"- **Attribution:** {support.as_text(data.get('attribution', 'not recorded'))}\n"
        f"- **Pretrained weights:** {licence}\n"
        f"- **Split:** {support.as_text(split.get('method', 'not recorded'))}; "
        f"seed {support.as_text(split.get('seed', '?'))}\n"
        f"- **File list sha256:** {support.as_text(data.get('file_list_sha256', 'not recorded'))}"
    )
    st.markdown(responsive_table.table_html(sections.split_frame(card).astype(str)), unsafe_allow_html=True)


def show_evaluation(card: dict) -> None:
    st.subheader("Evaluation")
    st.caption(support.as_text(card.get("metrics", {}).get("measured_on", "Test split (measured on: not recorded)")))
    figures = sections.evaluation_figures(card)
    for start in range(0, len(figures), 2):
        for column, figure in zip(st.columns(2), figures[start : start + 2]):
            column.metric(figure.label, support.percent(figure.value), help=figure.counts, border=True)
            column.caption(figure.counts)
    over_splits = sections.over_splits_table(card)
    if over_splits:
        section = card["evaluation_over_splits"]
        st.markdown(
            f"**Over {len(section['seeds'])} random splits** of the same photos (each refitted and scored on its own "
            f"test photos by {support.as_text(section['measured_by'])}; unknown threshold at "
            f"{support.percent(section['max_known_flagged'])} of known validation photos): one split's test photos are "
            "few, so this is how much the figures above move."
        )
        st.markdown(over_splits)
    cross_source = sections.cross_source_table(card)
    if cross_source:
        st.markdown(
            "**Photos from other sources.** The test split comes from the same collections as the training photos, "
            "and each class comes mostly from one of them; these rows show how the answers hold on collections the "
            f"model never learned from (measured by {support.as_text(card['cross_source']['measured_by'])})."
        )
        st.markdown(cross_source)
    calibration = sections.calibration_figure(card)
    if calibration is not None:
        st.markdown("**Calibration**: how far the shown confidence is from the share of answers that are right.")
        st.plotly_chart(calibration, width="stretch", config=support.STATIC_CHART, key="calibration")
    st.markdown("**Precision and recall per class** (test photos; the number of photos is in each bar's tooltip)")
    st.plotly_chart(support.per_class_figure(card), width="stretch", config=support.STATIC_CHART, key="per_class")
    st.markdown("**Confusion matrix** (test photos; rows: the true class, columns: what the model answered)")
    normalise = st.toggle("Show each true class's row as shares", key="normalise_confusion")
    st.plotly_chart(
        sections.confusion_figure(card, normalise), width="stretch", config=support.STATIC_CHART, key="confusion"
    )
    st.markdown("**The most frequent confusions** (test photos)")
    st.markdown(responsive_table.table_html(sections.top_confusions(card).astype(str)), unsafe_allow_html=True)


def show_members(card: dict) -> None:
    """What an ensemble combines, with what weights, and how they were chosen."""
    st.subheader("Members")
    selection = card.get("training", {}).get("selection", {})
    st.markdown(
        f"It averages the calibrated probabilities of {len(card['members'])} models, weighted "
        f"({support.as_text(selection.get('method', 'method not recorded'))}, on the "
        f"{support.as_text(selection.get('fitted_on', 'validation split'))}). Its gate is "
        f"{support.as_text(card.get('gate_member', '?'))}'s; Grad-CAM is drawn by the member with the largest weight."
    )
    members = pd.DataFrame(
        [
            {"member": entry["model"], "backbone": entry.get("backbone", "?"), "weight": f"{entry['weight']:.2f}"}
            for entry in card["members"]
        ]
    )
    st.markdown(responsive_table.table_html(members), unsafe_allow_html=True)


def show_training(card: dict) -> None:
    st.subheader("Training")
    if "members" in card:
        show_members(card)
        return
    history = support.training_history(card)
    if history.empty:
        st.info("This card records no training history.")
        return
    accuracy, loss = st.columns(2)
    accuracy.plotly_chart(
        support.training_figure(history, "accuracy"), width="stretch", config=support.STATIC_CHART, key="accuracy_curve"
    )
    loss.plotly_chart(
        support.training_figure(history, "loss"), width="stretch", config=support.STATIC_CHART, key="loss_curve"
    )
    with st.expander("Training settings, calibration, unknown-species threshold and software versions"):
        st.json(
            {
                "training settings": card.get("training", {}).get("config"),
                "calibration": card.get("calibration"),
                "unknown species": card.get("open_set"),
                "versions": card.get("versions"),
            },
            expanded=False,
        )


def main() -> None:
    st.title("Model cards")
    names = available_models()
    if not names:
        st.error("No model is installed in `models/`.")
        return
    name = support.model_select(st, names, key="card_model")
    card = support.model_card(name)
    show_summary(name, card)
    show_limitations(card)
    show_training_data(card)
    show_evaluation(card)
    show_training(card)


main()
