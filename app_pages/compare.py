"""Compare every shipped model on the same photo, and their held-out metrics."""

from __future__ import annotations

import streamlit as st

from champy import app_support as support
from champy.errors import ChampyError
from champy.inference import available_models



def show_missing_study_models(shipped_backbones: set[str]) -> None:
    """How to produce the study's VGG16 / ResNet50 / EfficientNet models that are not in `models/`."""
    missing = {backbone: name for backbone, name in support.STUDY_BACKBONES.items() if backbone not in shipped_backbones}
    if not missing:
        return
    st.info(
        f"Not shipped: {', '.join(missing.values())}. Train them with the notebook `notebooks/02_train.ipynb` or the CLI "
        "(each writes the model and its card into `models/`, where this page finds it):",
        icon=":material/info:",
    )
    st.code(
        "\n".join(
            f"python -m champy train --data ../shared/data/photos --backbone {backbone} --out models/{backbone}_species.h5"
            for backbone in missing
        ),
        language="bash",
    )


def show_model_column(column, name: str, result) -> None:
    with column:
        st.markdown(f"#### `{name}`")
        st.markdown(f"**{result.answer}** · {support.total_ms(result.timings_ms):.0f} ms")
        for candidate in result.species[:3]:
            st.markdown(
                f"*{candidate.name}* · {support.percent(candidate.probability)} {support.edibility_badge(candidate.edibility)}"
            )
        if result.overlay is not None:
            st.image(result.overlay, caption="Grad-CAM", width=420, output_format="JPEG")


def main() -> None:
    st.title("Compare the models")
    names = available_models()
    cards = {name: support.model_card(name) for name in names}
    st.subheader("Held-out test metrics")
    st.dataframe(support.metrics_frame(cards), hide_index=True, width="stretch")
    show_missing_study_models({card["backbone"] for card in cards.values()})

    st.subheader("The same photo through every model")
    upload = st.file_uploader("A photo of a mushroom", key="compare_photo")
    if upload is None:
        st.info("Upload a photo to see every model's answer side by side.")
        return
    results = {}
    try:
        photo = support.read_uploads([upload])
        for name in names:
            with st.spinner(f"Running {name}…"):
                results[name] = support.identify_photos(photo, name)
    except ChampyError as exc:
        st.error(f"Cannot identify this upload: {exc}", icon=":material/error:")
        return
    st.dataframe(support.agreement_frame(results), hide_index=True, width="stretch")
    for column, (name, result) in zip(st.columns(len(results)), results.items()):
        show_model_column(column, name, result)


main()
