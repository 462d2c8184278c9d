"""Each shipped model's card: how it was trained, how good it is per class, what it confuses, what data it saw."""

from __future__ import annotations

import streamlit as st

from champy import app_support as support
from champy.inference import available_models



def show_summary(card: dict) -> None:
    test = card.get("metrics", {}).get("test", {})
    columns = st.columns(4)
    columns[0].metric("Top-1 accuracy", support.percent(test["top1"]) if "top1" in test else "n/a")
    columns[1].metric("Top-3 accuracy", support.percent(test["top3"]) if "top3" in test else "n/a")
    columns[2].metric("Test photos", test.get("n", "n/a"))
    columns[3].metric("Classes", len(card["labels"]))
    st.caption(
        f"Backbone `{card['backbone']}` · input {card['input']['size']} px · "
        f"measured on: {card.get('metrics', {}).get('measured_on', 'not recorded')}"
    )


def show_training(card: dict) -> None:
    st.subheader("Training curves")
    history = support.training_history(card)
    if history.empty:
        st.info("This card records no training history.")
        return
    accuracy, loss = st.columns(2)
    accuracy.plotly_chart(support.training_figure(history, "accuracy"), width="stretch", key="accuracy_curve")
    loss.plotly_chart(support.training_figure(history, "loss"), width="stretch", key="loss_curve")


def show_per_class(card: dict) -> None:
    st.subheader("Precision and recall per class (test split)")
    st.plotly_chart(support.per_class_figure(card), width="stretch", key="per_class")
    st.subheader("Confusion matrix (test split)")
    normalise = st.toggle("Show each true class's row as shares", key="normalise_confusion")
    st.plotly_chart(support.confusion_figure(card, normalise), width="stretch", key="confusion")


def show_provenance(card: dict) -> None:
    st.subheader("Data provenance")
    data, split = card.get("data", {}), card.get("split", {})
    st.markdown(
        f"- **Photos:** {data.get('images_used', '?')} of {data.get('images_in_source', '?')} from `{data.get('source', '?')}`\n"
        f"- **Attribution:** {data.get('attribution', 'not recorded')}\n"
        f"- **Split:** {split.get('method', 'not recorded')} (seed {split.get('seed', '?')}; {split.get('counts', {})})\n"
        f"- **File list sha256:** `{data.get('file_list_sha256', 'not recorded')}`\n"
        f"- **Pretrained weights:** {card['weights'].get('requested', '?')} ({card['weights'].get('source', '?')})"
    )
    with st.expander("Calibration, open-set threshold and software versions"):
        st.json({key: card.get(key) for key in ("calibration", "open_set", "versions")}, expanded=True)


def main() -> None:
    st.title("Model cards")
    names = available_models()
    if not names:
        st.error("No model is installed in `models/`.")
        return
    name = st.selectbox("Model", names, key="card_model")
    card = support.model_card(name)
    show_summary(card)
    show_training(card)
    show_per_class(card)
    show_provenance(card)
    st.subheader("Classes and photos per split")
    st.dataframe(support.class_counts_frame(card), hide_index=True, width="stretch")


main()
