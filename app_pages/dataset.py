"""The training data: classes and their photo counts, sample photos with their credits, and where photos were taken."""

from __future__ import annotations

import streamlit as st

from champy import app_support as support
from champy.inference import DEFAULT_MODEL, available_models
from champy.occurrence_map import plotly_config

PHOTOS_PER_ROW = 4


def show_classes(model_name: str) -> list[str]:
    """The class table of `model_name`; returns the class names."""
    card = support.model_card(model_name)
    counts = support.class_counts_frame(card)
    st.subheader("Classes")
    st.caption(f"The {len(counts)} classes of `{model_name}`, with its photos per split ({card['data'].get('source', '')}).")
    st.dataframe(counts, hide_index=True, width="stretch")
    return counts["class"].tolist()


def show_samples(catalogue, classes: list[str]) -> None:
    st.subheader("Sample photos")
    st.caption("Creative Commons photos, credited under each one; the model's own classes come first in the list.")
    species = st.selectbox("Species", support.species_choices(catalogue, classes), key="sample_species")
    photos = catalogue[catalogue["species"] == species]
    for start in range(0, len(photos), PHOTOS_PER_ROW):
        row = photos.iloc[start : start + PHOTOS_PER_ROW]
        for column, (_, photo) in zip(st.columns(PHOTOS_PER_ROW), row.iterrows()):
            column.image(str(photo["file"]), caption=support.photo_caption(photo), width="stretch")
            if photo.get("url"):
                column.caption(f"[source]({photo['url']})")


def show_photo_map(catalogue) -> None:
    st.subheader("Where the photos were taken")
    located = support.located_photos(catalogue)
    if located.empty:
        st.info("None of these photos records where it was taken, so there is nothing to map.")
        return
    st.caption(f"{len(located)} of {len(catalogue)} photos record their coordinates.")
    st.plotly_chart(support.photo_map_figure(located), config=plotly_config(), width="stretch", key="photo_map")


def main() -> None:
    st.title("The dataset")
    names = available_models()
    classes = show_classes(DEFAULT_MODEL if DEFAULT_MODEL in names else names[0]) if names else []
    if not (support.SAMPLE_PHOTOS_DIR / "photos.csv").is_file():
        st.info("The sample photos (`data/sample_photos/`) are not installed.")
        return
    catalogue = support.sample_photos()
    show_samples(catalogue, classes)
    show_photo_map(catalogue)


main()
